// Package etcdclient makes the platform's etcd clients, authenticated with
// a user and password when one is given.
//
// Why not clientv3.New alone: an etcd 3.4 server (Debian 12's) checks the
// token a request carries even on Authenticate, and the client sends its
// old token there. Once the server forgets the token (a restart, or the
// simple token's idle TTL), the client's re-authentication is refused with
// "invalid auth token" forever. Clients made here send Authenticate on a
// connection of their own that carries no token, so they log in again and
// carry on, as they do against etcd 3.5 and later.
package etcdclient

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

const authenticateMethod = "/etcdserverpb.Auth/Authenticate"

// New returns clientv3.New(cfg); with a cfg.Username, its Authenticate
// calls go over a separate token-free connection (see the package doc).
func New(cfg clientv3.Config) (*clientv3.Client, error) {
	if cfg.Username == "" {
		return clientv3.New(cfg)
	}
	a := &authConns{endpoints: cfg.Endpoints}
	cfg.DialOptions = append(append([]grpc.DialOption(nil), cfg.DialOptions...),
		grpc.WithChainUnaryInterceptor(a.intercept))
	c, err := clientv3.New(cfg)
	if err != nil {
		a.close()
		return nil, err
	}
	go func() {
		<-c.Ctx().Done()
		a.close()
	}()
	return c, nil
}

// authConns holds one plain connection per endpoint, dialled on first use.
type authConns struct {
	endpoints []string

	mu    sync.Mutex
	conns map[string]*grpc.ClientConn
}

func (a *authConns) intercept(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn,
	invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	if method != authenticateMethod {
		return invoker(ctx, method, req, reply, cc, opts...)
	}
	// The first endpoint that answers logs in; the error returned is the
	// last one's, unwrapped, as the client's retry logic reads its code.
	err := errors.New("no etcd endpoint")
	for _, ep := range a.endpoints {
		var conn *grpc.ClientConn
		if conn, err = a.conn(ep); err != nil {
			continue
		}
		if err = conn.Invoke(ctx, method, req, reply); err == nil || ctx.Err() != nil {
			return err
		}
	}
	return err
}

func (a *authConns) conn(endpoint string) (*grpc.ClientConn, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if c, ok := a.conns[endpoint]; ok {
		return c, nil
	}
	target := endpoint
	for _, p := range []string{"http://", "unix://"} {
		target = strings.TrimPrefix(target, p)
	}
	if strings.HasPrefix(endpoint, "https://") {
		return nil, fmt.Errorf("etcd endpoint %s: TLS to etcd is not supported here", endpoint)
	}
	c, err := grpc.NewClient("passthrough:///"+target, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, err
	}
	if a.conns == nil {
		a.conns = map[string]*grpc.ClientConn{}
	}
	a.conns[endpoint] = c
	return c, nil
}

func (a *authConns) close() {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, c := range a.conns {
		c.Close()
	}
	a.conns = nil
}

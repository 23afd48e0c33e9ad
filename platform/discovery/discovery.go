// Package discovery keeps the gRPC addresses of a service's replicas in
// etcd and resolves them for clients: each replica registers its address
// under a lease while it serves (Register) and leaves when it drains or
// dies (the lease ends with it); a client dialling Target through the
// Resolver balances round robin over the addresses registered, so a replica
// that stops takes no more calls. It is etcd's own naming
// (go.etcd.io/etcd/client/v3/naming/endpoints and .../naming/resolver).
package discovery

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/naming/endpoints"
	etcdresolver "go.etcd.io/etcd/client/v3/naming/resolver"
	"google.golang.org/grpc"
	"google.golang.org/grpc/resolver"
)

// Prefix is where services register, under the platform's etcd prefix
// (its user may write there only): Prefix + "<service>/<address>".
const Prefix = "/disputes/_services/"

// LeaseTTL is how long an address outlives its replica's last keep-alive:
// a replica killed without draining leaves the list after at most this.
const LeaseTTL = 10 * time.Second

// roundRobin is the service config of a client of several replicas.
const roundRobin = `{"loadBalancingConfig":[{"round_robin":{}}]}`

func target(service string) string { return Prefix + service }

// Registration is one replica's address in etcd.
type Registration struct {
	cli     *clientv3.Client
	em      endpoints.Manager
	key     string
	addr    string
	lease   clientv3.LeaseID
	cancel  context.CancelFunc
	once    sync.Once
	stopped chan struct{}
}

// Register puts addr under service's prefix with a lease kept alive until
// Leave (or ctx ends). A replica that dies stops keeping it alive, and etcd
// drops the address after LeaseTTL.
func Register(ctx context.Context, cli *clientv3.Client, service, addr string, log *slog.Logger) (*Registration, error) {
	em, err := endpoints.NewManager(cli, target(service))
	if err != nil {
		return nil, fmt.Errorf("discovery: %w", err)
	}
	lease, err := cli.Grant(ctx, int64(LeaseTTL/time.Second))
	if err != nil {
		return nil, fmt.Errorf("discovery: lease: %w", err)
	}
	key := target(service) + "/" + addr
	if err := em.AddEndpoint(ctx, key, endpoints.Endpoint{Addr: addr}, clientv3.WithLease(lease.ID)); err != nil {
		return nil, fmt.Errorf("discovery: register %s: %w", key, err)
	}
	kctx, cancel := context.WithCancel(context.Background())
	r := &Registration{cli: cli, em: em, key: key, addr: addr, lease: lease.ID, cancel: cancel, stopped: make(chan struct{})}
	go r.keepAlive(kctx, log)
	return r, nil
}

// keepAlive renews the lease; when etcd loses it (a partition longer than
// the TTL), it registers again under a new one.
func (r *Registration) keepAlive(ctx context.Context, log *slog.Logger) {
	defer close(r.stopped)
	for ctx.Err() == nil {
		ch, err := r.cli.KeepAlive(ctx, r.lease)
		if err == nil {
			for range ch {
			}
		}
		if ctx.Err() != nil {
			return
		}
		log.Warn("discovery: lease lost; registering again", "key", r.key, "error", err)
		time.Sleep(time.Second)
		gctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		lease, err := r.cli.Grant(gctx, int64(LeaseTTL/time.Second))
		if err == nil {
			r.lease = lease.ID
			err = r.em.AddEndpoint(gctx, r.key, endpoints.Endpoint{Addr: r.addr}, clientv3.WithLease(lease.ID))
		}
		cancel()
		if err != nil {
			log.Warn("discovery: register again failed", "key", r.key, "error", err)
		}
	}
}

// Leave deletes the address and ends its lease, so clients stop calling
// this replica at once; called when the replica starts draining.
func (r *Registration) Leave(ctx context.Context) error {
	var err error
	r.once.Do(func() {
		r.cancel()
		<-r.stopped
		if err = r.em.DeleteEndpoint(ctx, r.key); err == nil {
			_, err = r.cli.Revoke(ctx, r.lease)
		}
	})
	return err
}

// Resolver returns the gRPC resolver of the replicas registered in etcd.
func Resolver(cli *clientv3.Client) (resolver.Builder, error) { return etcdresolver.NewBuilder(cli) }

// Target returns the gRPC target of service through the resolver, with
// the dial options that balance round robin over its replicas.
func Target(b resolver.Builder, service string) (string, []grpc.DialOption) {
	// The etcd resolver drops one leading slash of the target's path.
	return b.Scheme() + ":///" + target(service), []grpc.DialOption{grpc.WithResolvers(b), grpc.WithDefaultServiceConfig(roundRobin)}
}

// Advertised returns the address a replica listening on listen registers:
// advertise when given, else listen when it names a host; "" when it
// listens on every interface and so has no one address to give.
func Advertised(advertise, listen string) string {
	if advertise != "" {
		return advertise
	}
	host, _, err := net.SplitHostPort(listen)
	if err != nil || host == "" {
		return ""
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		return ""
	}
	return listen
}

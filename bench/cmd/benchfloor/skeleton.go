package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/status"
)

// writeScript is routing's write reduced to its round trip: the tracker is
// written when it is still the one the change was computed on (its SHA-1),
// with the change's event. It returns 1 when written, 0 when the tracker
// changed meanwhile.
//
//	KEYS: tracker, stream   ARGV: tracker's SHA-1, new tracker, id, event
var writeScript = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if not cur or redis.sha1hex(cur) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('XADD', KEYS[2], '*', 'id', ARGV[3], 'event', ARGV[4])
return 1
`)

// registerScript is intake's registration reduced the same way: the record
// and its event.
//
//	KEYS: record, stream   ARGV: record, id, event
var registerScript = redis.NewScript(`
redis.call('SET', KEYS[1], ARGV[1])
redis.call('XADD', KEYS[2], '*', 'id', ARGV[2], 'event', ARGV[3])
return 1
`)

// skeleton is the serving process as the driver sees it.
type skeleton struct {
	pid    int
	intake testgrpc.TestServiceClient
	route  testgrpc.TestServiceClient
	conns  []*grpc.ClientConn
	cmd    *exec.Cmd
}

// startSkeleton starts this program with "serve" and connects to the
// addresses it prints.
func startSkeleton(ctx context.Context, redisAddr string) (*skeleton, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, self, "serve", "-redis-addr", redisAddr)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	sk := &skeleton{pid: cmd.Process.Pid, cmd: cmd}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		sk.stop()
		return nil, fmt.Errorf("skeleton did not start: %w", err)
	}
	addrs := map[string]string{}
	for _, f := range strings.Fields(line) {
		name, addr, _ := strings.Cut(f, "=")
		addrs[name] = addr
	}
	for _, name := range []string{"intake", "routing"} {
		conn, err := grpc.NewClient(addrs[name], grpc.WithTransportCredentials(insecureCreds()))
		if err != nil {
			sk.stop()
			return nil, err
		}
		sk.conns = append(sk.conns, conn)
	}
	sk.intake = testgrpc.NewTestServiceClient(sk.conns[0])
	sk.route = testgrpc.NewTestServiceClient(sk.conns[1])
	return sk, nil
}

func (sk *skeleton) stop() {
	for _, c := range sk.conns {
		c.Close()
	}
	sk.cmd.Process.Signal(os.Interrupt)
	sk.cmd.Wait()
}

// call makes one of the lifecycle's calls: op and the dispute's id.
func (sk *skeleton) call(ctx context.Context, op, id string) error {
	c := sk.route
	if op == "register" {
		c = sk.intake
	}
	_, err := c.UnaryCall(ctx, &testgrpc.SimpleRequest{Payload: &testgrpc.Payload{Body: []byte(op + " " + id)}})
	return err
}

// serve runs the skeleton: one gRPC server and one Redis client per
// service, and the consumer groups.
func serve(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("benchfloor serve", flag.ContinueOnError)
	redisAddr := fs.String("redis-addr", "127.0.0.1:6379", "Redis")
	if err := fs.Parse(args); err != nil {
		return err
	}
	client := func() *redis.Client { return redis.NewClient(&redis.Options{Addr: *redisAddr, PoolSize: 64}) }
	var wg sync.WaitGroup
	var addrs []string
	var servers []*grpc.Server
	for _, svc := range []string{"intake", "routing"} {
		lis, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		srv := grpc.NewServer()
		testgrpc.RegisterTestServiceServer(srv, &service{name: svc, rdb: client()})
		servers = append(servers, srv)
		addrs = append(addrs, svc+"="+lis.Addr().String())
		wg.Go(func() { srv.Serve(lis) })
	}
	for _, g := range groups {
		rdb := client()
		for _, st := range g.streams {
			err := rdb.XGroupCreateMkStream(ctx, st, g.service, "$").Err()
			if err != nil && !strings.HasPrefix(err.Error(), "BUSYGROUP") {
				return fmt.Errorf("group %s on %s: %w", g.service, st, err)
			}
		}
		wg.Go(func() { consume(ctx, rdb, g) })
	}
	fmt.Println(strings.Join(addrs, " "))
	<-ctx.Done()
	for _, s := range servers {
		s.Stop()
	}
	wg.Wait()
	return nil
}

// service answers the lifecycle's calls for intake or routing.
type service struct {
	testgrpc.UnimplementedTestServiceServer
	name string
	rdb  *redis.Client
}

func (s *service) UnaryCall(ctx context.Context, req *testgrpc.SimpleRequest) (*testgrpc.SimpleResponse, error) {
	op, id, ok := strings.Cut(string(req.GetPayload().GetBody()), " ")
	if !ok || id == "" {
		return nil, status.Error(codes.InvalidArgument, "payload.body: want \"op id\"")
	}
	var err error
	switch {
	case s.name == "intake" && op == "register":
		err = registerScript.Run(ctx, s.rdb, []string{key("record", id), intakeStream},
			blob(id, recordSize), id, blob("registered "+id, eventSize)).Err()
	case s.name == "routing":
		err = s.change(ctx, op, id)
	default:
		return nil, status.Errorf(codes.InvalidArgument, "payload.body: %s does not do %q", s.name, op)
	}
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return &testgrpc.SimpleResponse{Payload: &testgrpc.Payload{Body: []byte(id)}}, nil
}

// change reads the tracker (waiting, as routing does, for its consumer to
// have opened it from intake's event) and writes the changed one with its
// event, again when it changed meanwhile.
func (s *service) change(ctx context.Context, op, id string) error {
	k := key("tracker", id)
	for {
		cur, err := s.rdb.Get(ctx, k).Bytes()
		if errors.Is(err, redis.Nil) {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(2 * time.Millisecond):
			}
			continue
		}
		if err != nil {
			return err
		}
		next := blob(op+" "+id, trackerSize)
		n, err := writeScript.Run(ctx, s.rdb, []string{k, routingStream},
			sum(cur), next, id, blob(op+" "+id, eventSize)).Int()
		if err != nil || n == 1 {
			return err
		}
	}
}

// consume runs group g: each batch read is applied as one MULTI/EXEC of
// one write per event (routing's group opens the tracker and appends its
// event, as routing's consumer does) and the batch's XACK.
func consume(ctx context.Context, rdb *redis.Client, g group) {
	args := &redis.XReadGroupArgs{Group: g.service, Consumer: "c1", Count: 100, Block: time.Second}
	args.Streams = append(append(args.Streams, g.streams...), ">")
	if len(g.streams) == 2 {
		args.Streams = append(args.Streams, ">")
	}
	for ctx.Err() == nil {
		res, err := rdb.XReadGroup(ctx, args).Result()
		if err != nil {
			if !errors.Is(err, redis.Nil) && ctx.Err() == nil {
				fmt.Fprintln(os.Stderr, "benchfloor:", g.service, err)
				time.Sleep(100 * time.Millisecond)
			}
			continue
		}
		_, err = rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
			for _, st := range res {
				ids := make([]string, 0, len(st.Messages))
				for _, m := range st.Messages {
					id, _ := m.Values["id"].(string)
					if g.service == "routing" {
						p.Set(ctx, key("tracker", id), blob("opened "+id, trackerSize), 0)
						p.XAdd(ctx, &redis.XAddArgs{Stream: routingStream, Values: []any{"id", id, "event", blob("opened "+id, eventSize)}})
					} else {
						p.Set(ctx, key(g.service, id), m.Values["event"], 0)
					}
					ids = append(ids, m.ID)
				}
				p.XAck(ctx, st.Stream, g.service, ids...)
			}
			return nil
		})
		if err != nil && ctx.Err() == nil {
			fmt.Fprintln(os.Stderr, "benchfloor:", g.service, err)
		}
	}
}

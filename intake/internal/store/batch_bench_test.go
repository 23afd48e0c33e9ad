package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/xiaoyi-disputes/disputes/platform/testenv"
)

// BenchmarkRegisterScript registers disputes in batches of 1, 8 and 32
// against a real Redis (appendfsync always) and reports the Redis server's
// CPU per registration (INFO cpu, user + system), the cost the single Redis
// thread pays whatever the client does. "run" sends a batch as one script
// run, as the batch loops do; "pipelined" sends it as one script run per
// registration, all in one pipeline.
func BenchmarkRegisterScript(b *testing.B) {
	for _, tc := range []struct {
		size      int
		pipelined bool
	}{{1, false}, {8, false}, {32, false}, {8, true}, {32, true}} {
		mode := "run"
		if tc.pipelined {
			mode = "pipelined"
		}
		b.Run(fmt.Sprintf("batch=%d/%s", tc.size, mode), func(b *testing.B) {
			size := tc.size
			rdb := testenv.StartRedis(b).Client(b)
			s := New(rdb)
			now := time.Date(2026, 5, 6, 9, 0, 0, 0, time.UTC)
			if err := s.register.Load(context.Background(), rdb).Err(); err != nil {
				b.Fatal(err)
			}
			calls := make([]*regCall, 0, size)
			cpu0 := redisCPU(b, rdb)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				r := registration(b, now, "bench-"+strconv.Itoa(i), "")
				// A claimant of their own, as most registrations are.
				phone := fmt.Sprintf("139%08d", i)
				r.Dispute.Claimant.Phone = phone
				r.Identifiers = []string{"phone:" + phone}
				c, err := prepare(r)
				if err != nil {
					b.Fatal(err)
				}
				c.done = make(chan scriptResult, 1)
				calls = append(calls, c)
				if len(calls) == size || i == b.N-1 {
					if tc.pipelined {
						flushEach(s, calls)
					} else {
						s.flush(calls)
					}
					for _, c := range calls {
						if res := <-c.done; res.err != nil {
							b.Fatal(res.err)
						}
					}
					calls = calls[:0]
				}
			}
			b.StopTimer()
			b.ReportMetric(float64((redisCPU(b, rdb)-cpu0).Microseconds())/float64(b.N), "redis-µs/reg")
		})
	}
}

// flushEach sends each call as a script run of its own, all in one
// pipeline.
func flushEach(s *Store, calls []*regCall) {
	ctx := context.Background()
	cmds := make([]*redis.Cmd, len(calls))
	_, _ = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, c := range calls {
			keys, args := scriptInput([]*regCall{c})
			cmds[i] = s.register.Run(ctx, p, keys, args...)
		}
		return nil
	})
	for i, c := range calls {
		deliver([]*regCall{c}, cmds[i])
	}
}

// redisCPU returns the CPU time the Redis server has used.
func redisCPU(b *testing.B, rdb *redis.Client) time.Duration {
	info, err := rdb.Info(context.Background(), "cpu").Result()
	if err != nil {
		b.Fatal(err)
	}
	var total float64
	for _, line := range strings.Split(info, "\r\n") {
		k, v, _ := strings.Cut(line, ":")
		if k == "used_cpu_sys" || k == "used_cpu_user" {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				b.Fatal(err)
			}
			total += f
		}
	}
	return time.Duration(total * float64(time.Second))
}

package events_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/xiaoyi-disputes/disputes/platform/events"
	"github.com/xiaoyi-disputes/disputes/platform/testenv"
)

// BenchmarkSubscriptionSmallBatches applies events two at a time, as the
// consumers do under the lifecycle benchmark's load, where a batch holds
// one to a few events: what each batch's round trips cost shows. It
// reports the CPU per event of this process and of Redis.
func BenchmarkSubscriptionSmallBatches(b *testing.B) {
	srv := testenv.StartRedis(b)
	rdb := srv.Client(b)
	ctx := context.Background()
	stream := events.Stream("intake", region)
	pipe := rdb.Pipeline()
	for i := range b.N {
		ev := newEvent(b, fmt.Sprintf("regions/%s/disputes/2026-%d", region, i+1))
		vals, err := events.Values(ev)
		if err != nil {
			b.Fatal(err)
		}
		pipe.XAdd(ctx, &redis.XAddArgs{Stream: stream, Values: vals})
		if pipe.Len() == 500 || i == b.N-1 {
			if _, err := pipe.Exec(ctx); err != nil {
				b.Fatal(err)
			}
		}
	}
	sub := newSub(rdb, "c1", appendHandler(nil))
	sub.Batch = 2
	redisBefore, selfBefore := redisCPU(b, rdb), selfCPU()
	b.ResetTimer()
	stop := run(b, sub)
	for {
		gs, err := rdb.XInfoGroups(ctx, stream).Result()
		if err == nil && len(gs) == 1 && gs[0].Lag == 0 && gs[0].Pending == 0 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	b.StopTimer()
	stop()
	b.ReportMetric(float64(selfCPU()-selfBefore)/float64(time.Microsecond)/float64(b.N), "µs-cpu/event")
	b.ReportMetric(float64(redisCPU(b, rdb)-redisBefore)/float64(time.Microsecond)/float64(b.N), "µs-redis-cpu/event")
}

// selfCPU is this process's user and system CPU time.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// redisCPU is Redis's main process's CPU time (INFO cpu).
func redisCPU(tb testing.TB, rdb *redis.Client) time.Duration {
	s, err := rdb.Info(context.Background(), "cpu").Result()
	if err != nil {
		tb.Fatal(err)
	}
	var sum float64
	for _, line := range strings.Split(s, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if ok && (k == "used_cpu_sys" || k == "used_cpu_user") {
			f, _ := strconv.ParseFloat(v, 64)
			sum += f
		}
	}
	return time.Duration(sum * float64(time.Second))
}

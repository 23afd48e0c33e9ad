package cli

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"

	"github.com/xiaoyi-disputes/disputes/platform/events"
	"github.com/xiaoyi-disputes/disputes/platform/testenv"
	eventv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/event/v1"
	intakev1 "github.com/xiaoyi-disputes/disputes/proto/disputes/intake/v1"
	typesv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/types/v1"
)

func TestParseEvents(t *testing.T) {
	local := EventsConn{Redis: DefaultRedis, Region: DefaultRegion}
	fromEnv := EventsConn{Redis: "redis:6379", Region: DefaultRegion}
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want command
	}{
		{"list", []string{"events", "parked", "list"}, nil, &ParkedListCmd{Conn: local, Limit: DefaultParkedLimit}},
		{"list redis from env", []string{"events", "parked", "list"}, map[string]string{RedisEnv: "redis:6379"},
			&ParkedListCmd{Conn: fromEnv, Limit: DefaultParkedLimit}},
		{"list flags", []string{"events", "parked", "list", "--region", "140100", "--group", "archive", "--limit", "0", "--redis-addr", "r:1"},
			map[string]string{RedisEnv: "redis:6379"}, &ParkedListCmd{Conn: EventsConn{Redis: "r:1", Region: "140100"}, Group: "archive"}},
		{"replay one", []string{"events", "parked", "replay", "--id", "1767225600000-0", "--group", "intake", "--source", "routing"}, nil,
			&ParkedReplayCmd{Conn: local, Select: ParkedSelection{ID: "1767225600000-0", Group: "intake", Source: "routing"}}},
		{"replay all of a group", []string{"events", "parked", "replay", "--all", "--group", "meeting"}, nil,
			&ParkedReplayCmd{Conn: local, Select: ParkedSelection{All: true, Group: "meeting"}}},
		{"drop one", []string{"events", "parked", "drop", "--id", "1-0", "--group", "archive", "--source", "intake", "--reason", "测试数据"}, nil,
			&ParkedDropCmd{Conn: local, Select: ParkedSelection{ID: "1-0", Group: "archive", Source: "intake"}, Reason: "测试数据"}},
		{"drop all", []string{"events", "parked", "drop", "--all", "--reason", "x"}, nil,
			&ParkedDropCmd{Conn: local, Select: ParkedSelection{All: true}, Reason: "x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.args, env(tt.env))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseEventsErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"events alone", []string{"events"}, "want parked list"},
		{"unknown parked subcommand", []string{"events", "parked", "purge"}, "unknown subcommand"},
		{"list unknown group", []string{"events", "parked", "list", "--group", "gateway"}, `--group "gateway": unknown`},
		{"list negative limit", []string{"events", "parked", "list", "--limit", "-1"}, "--limit -1"},
		{"list bad region", []string{"events", "parked", "list", "--region", "14"}, "6 digits"},
		{"replay without id", []string{"events", "parked", "replay", "--group", "intake", "--source", "routing"}, "--id (with --group and --source) or --all is required"},
		{"replay id without source", []string{"events", "parked", "replay", "--id", "1-0", "--group", "intake"}, "needs --group and --source"},
		{"replay bad id", []string{"events", "parked", "replay", "--id", "abc", "--group", "intake", "--source", "routing"}, "want a stream entry id"},
		{"replay id and all", []string{"events", "parked", "replay", "--id", "1-0", "--all"}, "either --id or --all"},
		{"replay unknown source", []string{"events", "parked", "replay", "--all", "--source", "billing"}, `--source "billing": unknown`},
		{"drop without reason", []string{"events", "parked", "drop", "--all"}, "--reason is required"},
		{"drop without id", []string{"events", "parked", "drop", "--reason", "x"}, "--all is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.args, env(nil))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one containing %q", err, tt.want)
			}
		})
	}
	_, errOut, code := run(t, "events", "parked", "replay", "--all", "--group", "gateway")
	if code != 2 || !strings.Contains(errOut, `--group "gateway": unknown (want intake, routing, meeting, archive)`) {
		t.Errorf("usage error: code %d, stderr %q", code, errOut)
	}
}

// parkEvent writes an event to the source service's stream of region and
// parks it for group in the format the consumers write.
func parkEvent(t *testing.T, rdb redis.UniversalClient, source, region, group, dispute string) (*eventv1.Event, string) {
	t.Helper()
	ctx := context.Background()
	ev, err := events.New(source, region, dispute, &typesv1.Actor{Department: "tax"}, "",
		&intakev1.DisputeWithdrawn{Reason: "resolved"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	vals, err := events.Values(ev)
	if err != nil {
		t.Fatal(err)
	}
	stream := events.Stream(source, region)
	entry, err := rdb.XAdd(ctx, &redis.XAddArgs{Stream: stream, Values: vals}).Result()
	if err != nil {
		t.Fatal(err)
	}
	parked := map[string]any{"entry": entry, "stream": stream, "error": "delivered 6 times"}
	for k, v := range vals {
		parked["orig_"+k] = v
	}
	id, err := rdb.XAdd(ctx, &redis.XAddArgs{Stream: events.ParkedStream(stream, group), Values: parked}).Result()
	if err != nil {
		t.Fatal(err)
	}
	return ev, id
}

// On a Redis Cluster too, given its nodes comma-separated.
func TestEventsParked(t *testing.T) {
	t.Run("single", func(t *testing.T) {
		srv := testenv.StartRedis(t)
		eventsParked(t, srv.Client(t), []string{"--redis-addr", srv.Addr, "--redis-user", srv.User, "--redis-password-file", srv.PasswordFile})
	})
	t.Run("cluster", func(t *testing.T) {
		c := testenv.StartRedisCluster(t)
		eventsParked(t, c.Client(t), []string{"--redis-addr", c.Addr(), "--redis-user", c.User, "--redis-password-file", c.PasswordFile})
	})
}

func eventsParked(t *testing.T, rdb redis.UniversalClient, addr []string) {
	ctx := context.Background()
	cmd := func(args ...string) []string { return append(append([]string{"events", "parked"}, args...), addr...) }

	ev1, id1 := parkEvent(t, rdb, "routing", "141181", "intake", "regions/141181/disputes/2026-1")
	ev2, id2 := parkEvent(t, rdb, "routing", "141181", "intake", "regions/141181/disputes/2026-2")
	ev3, id3 := parkEvent(t, rdb, "intake", "141181", "archive", "regions/141181/disputes/2026-3")
	routingParked := events.ParkedStream(events.Stream("routing", "141181"), "intake")
	// An undecodable entry as a consumer parks it: nothing to replay.
	broken, err := rdb.XAdd(ctx, &redis.XAddArgs{Stream: routingParked, Values: map[string]any{
		"entry": "1-1", "stream": events.Stream("routing", "141181"), "error": "malformed event entry:\nno event"}}).Result()
	if err != nil {
		t.Fatal(err)
	}

	out, errOut, code := run(t, cmd("list")...)
	if code != 0 {
		t.Fatalf("list: code %d, err %q", code, errOut)
	}
	for _, want := range []string{
		"PARKED ID", "EVENT ID", ev2.GetId(), ev3.GetId(), "malformed event entry: no event",
		"total: 4 parked in region 141181\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("list output lacks %q:\n%s", want, out)
		}
	}
	wantRows := [][]string{
		{id1, "intake", "routing:{141181}:events", "disputes.intake.v1.DisputeWithdrawn", "regions/141181/disputes/2026-1", ev1.GetId(), "delivered", "6", "times"},
		{broken, "intake", "routing:{141181}:events", "-", "-", "-", "malformed", "event", "entry:", "no", "event"},
	}
	for _, want := range wantRows {
		if !hasRow(out, want) {
			t.Errorf("list output lacks row %q:\n%s", want, out)
		}
	}
	out, _, _ = run(t, cmd("list", "--group", "archive")...)
	if !strings.Contains(out, ev3.GetId()) || strings.Contains(out, ev1.GetId()) || !strings.Contains(out, "total: 1 parked") {
		t.Errorf("list --group archive:\n%s", out)
	}
	out, _, _ = run(t, cmd("list", "--limit", "1")...)
	if !strings.Contains(out, "total: 4 parked in region 141181 (1 shown; --limit 0 for all)") {
		t.Errorf("list --limit 1:\n%s", out)
	}

	// Replay one: a new entry of the same event on the source stream.
	out, errOut, code = run(t, cmd("replay", "--id", id1, "--group", "intake", "--source", "routing")...)
	if code != 0 || !strings.Contains(out, "replayed "+id1) || !strings.Contains(out, ev1.GetId()) {
		t.Fatalf("replay: code %d, out %q, err %q", code, out, errOut)
	}
	tail, err := rdb.XRevRangeN(ctx, events.Stream("routing", "141181"), "+", "-", 1).Result()
	if err != nil || len(tail) != 1 || tail[0].Values["id"] != ev1.GetId() {
		t.Fatalf("source stream tail = %v, %v; want event %s", tail, err, ev1.GetId())
	}
	_, errOut, code = run(t, cmd("replay", "--id", id1, "--group", "intake", "--source", "routing")...)
	if code != 1 || !strings.Contains(errOut, id1+" in "+routingParked+": parked entry not found") {
		t.Errorf("second replay: code %d, err %q", code, errOut)
	}

	// Drop one: printed with the reason.
	out, errOut, code = run(t, cmd("drop", "--id", id3, "--group", "archive", "--source", "intake", "--reason", "test data")...)
	if code != 0 || !strings.Contains(out, "dropped "+id3) || !strings.Contains(out, ev3.GetId()) || !strings.Contains(out, "reason: test data") {
		t.Fatalf("drop: code %d, out %q, err %q", code, out, errOut)
	}

	// Replay all: the broken entry is skipped and reported.
	out, errOut, code = run(t, cmd("replay", "--all")...)
	if code != 1 || !strings.Contains(out, "skipped "+broken) || !strings.Contains(out, "replayed 1 of 2 parked entries") ||
		!strings.Contains(errOut, "1 entries cannot be replayed") {
		t.Fatalf("replay --all: code %d, out %q, err %q", code, out, errOut)
	}
	if _, err := events.GetParked(ctx, rdb, routingParked, id2); err == nil {
		t.Errorf("%s still parked after replay --all", id2)
	}
	out, _, code = run(t, cmd("drop", "--all", "--group", "intake", "--reason", "undecodable")...)
	if code != 0 || !strings.Contains(out, "dropped "+broken) || !strings.Contains(out, "dropped 1 parked entries") {
		t.Fatalf("drop --all: code %d, out %q", code, out)
	}
	out, _, _ = run(t, cmd("list")...)
	if out != "no parked entries in region 141181\n" {
		t.Errorf("list after all: %q", out)
	}
}

// hasRow reports whether a line of table out has the given fields.
func hasRow(out string, fields []string) bool {
	for _, line := range strings.Split(out, "\n") {
		if cmp.Equal(strings.Fields(line), fields) {
			return true
		}
	}
	return false
}

func TestEventsParkedReplayManyReportsProgress(t *testing.T) {
	srv := testenv.StartRedis(t)
	rdb := srv.Client(t)
	for i := range 150 {
		parkEvent(t, rdb, "meeting", "141181", "routing", fmt.Sprintf("regions/141181/disputes/2026-%d", i+1))
	}
	var out, errOut bytes.Buffer
	code := Run(context.Background(), []string{"events", "parked", "replay", "--all"}, &out, &errOut,
		env(map[string]string{RedisEnv: srv.Addr, RedisUserEnv: srv.User, RedisPasswordEnv: srv.PasswordFile}))
	if code != 0 {
		t.Fatalf("replay --all: code %d, err %q", code, errOut.String())
	}
	want := "replayed 100/150\nreplayed 150/150\nreplayed 150 of 150 parked entries in region 141181\n"
	if out.String() != want {
		t.Errorf("output %q, want %q", out.String(), want)
	}
	if n, _ := rdb.XLen(context.Background(), events.Stream("meeting", "141181")).Result(); n != 300 {
		t.Errorf("meeting stream holds %d entries, want 150 originals and 150 replayed", n)
	}
}

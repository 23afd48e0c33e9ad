package rstats

import (
	"slices"
	"testing"
)

// An INFO commandstats answer as Redis 7 writes it.
const info = "# Commandstats\r\n" +
	"cmdstat_set:calls=120,usec=300,usec_per_call=2.50,rejected_calls=0,failed_calls=0\r\n" +
	"cmdstat_zadd:calls=7,usec=40,usec_per_call=5.71,rejected_calls=0,failed_calls=0\r\n" +
	"cmdstat_get:calls=55,usec=90,usec_per_call=1.64,rejected_calls=0,failed_calls=0\r\n" +
	"errorstat_ERR:count=2\r\n"

func TestStatsAddUpAndDeltaIsLargestFirst(t *testing.T) {
	before := map[string]int64{}
	addStats(before, info)
	if before["set"] != 120 || before["zadd"] != 7 || before["get"] != 55 || len(before) != 3 {
		t.Fatalf("parsed %v", before)
	}
	after := map[string]int64{}
	addStats(after, info)
	addStats(after, info) // a second master of a cluster: summed
	addStats(after, "cmdstat_get:calls=100,usec=1\r\ncmdstat_xadd:calls=4,usec=1\r\n")
	list, total := Delta(before, after)
	want := []Count{{"get", 155}, {"set", 120}, {"zadd", 7}, {"xadd", 4}}
	if !slices.Equal(list, want) || total != 286 {
		t.Fatalf("Delta = %v, %d; want %v, 286", list, total, want)
	}
	if list, total := Delta(after, after); len(list) != 0 || total != 0 {
		t.Fatalf("Delta of a snapshot with itself = %v, %d", list, total)
	}
}

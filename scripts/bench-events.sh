#!/usr/bin/env bash
# Benchmark of the event backbone: each consumer group applying a backlog of
# real events, produced by driving the platform with the consumer stopped
# (bench/cmd/benchlifecycle -mode register|advance|drain):
#
#   1. routing and the archive stopped: N disputes registered (intake's
#      stream); routing started alone: the routing group applies N events.
#   2. intake, meeting and the archive stopped: the N disputes routed to
#      hrss, received, replied to and closed (routing's stream, 5 events
#      each with the tracker's opening); each of intake, meeting and the
#      archive started alone: its group applies the backlog.
#
#   scripts/bench-events.sh          # N=10000
#   N=50000 scripts/bench-events.sh
source "$(dirname "$0")/bench-platform.sh"
N=${N:-10000}
CLIENTS=${CLIENTS:-50}

build_platform
start_servers
echo "== starting intake and meeting (routing and the archive stay stopped)"
start_service intake
start_service meeting
machine
ADDRS=$(driver_addrs)
status=0
# measure group streams service: creates the group at the start of its
# streams (as the service would), starts the measurement, then the service.
measure() {
  local st
  for st in ${2//,/ }; do
    redis-cli -p "$REDIS_PORT" xgroup create "$st" "$1" 0 mkstream >/dev/null 2>&1 || true
  done
  # shellcheck disable=SC2086
  "$BIN/benchlifecycle" -mode drain $ADDRS -group "$1" -streams "$2" -cpu "redis=$REDIS_PID" \
    -drain-timeout 300s ${BENCH_ARGS:-} &
  local drv=$!
  sleep 0.3
  start_service "$3"
  wait "$drv" || status=$?
  echo "   $3 CPU since its start (startup included): $(awk '{printf "%.2f s", ($14+$15)/100}' "/proc/${SVC_PID[$3]}/stat")"
}
intake_stream="intake:{$REGION}:events"
routing_stream="routing:{$REGION}:events"
meeting_stream="meeting:{$REGION}:events"

echo "== 1. registering $N disputes"
# shellcheck disable=SC2086
"$BIN/benchlifecycle" -mode register $ADDRS -n "$N" -c "$CLIENTS" -names "$TMP/names" || status=$?
echo "== routing starts: group routing on intake's stream"
measure routing "$intake_stream,$meeting_stream" routing

echo "== 2. intake and meeting stopped; routing, receipt, reply, close of the $N disputes"
stop_service intake
stop_service meeting
# shellcheck disable=SC2086
"$BIN/benchlifecycle" -mode advance $ADDRS -c "$CLIENTS" -names "$TMP/names" || status=$?
echo "== routing's stream: $(redis-cli -p "$REDIS_PORT" xlen "$routing_stream") entries"
for s in intake meeting; do
  echo "== $s starts alone: group $s on routing's stream"
  measure "$s" "$routing_stream" "$s"
done
echo "== archive starts alone: group archive on all three streams"
measure archive "$intake_stream,$routing_stream,$meeting_stream" archive
exit $status

#!/usr/bin/env bash
# The floor under the lifecycle benchmark (bench/cmd/benchfloor): a skeleton
# of the services with none of the platform's work (gRPC calls, one durable
# Redis write per call, the consumer groups applying one write per event)
# driven with the lifecycle benchmark's five calls, against Redis started
# as make run starts it (appendonly, appendfsync always). It prints what
# the platform's shape alone costs per lifecycle on this machine.
#
#   scripts/bench-floor.sh                       # 50 clients, 3 s warmup, 20 s
#   CLIENTS=10 DURATION=30s scripts/bench-floor.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$PWD/bin
CLIENTS=${CLIENTS:-50}
DURATION=${DURATION:-20s}
WARMUP=${WARMUP:-3s}

BENCH_NAME=bench-floor
source scripts/bench-lib.sh

echo "== building"
mkdir -p "$BIN"
go build -o "$BIN/benchfloor" github.com/xiaoyi-disputes/disputes/bench/cmd/benchfloor

free_port REDIS_PORT
echo "== starting redis (appendonly yes, appendfsync always) in $TMP"
start_redis
echo "== machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
"$BIN/benchfloor" -redis-addr "127.0.0.1:$REDIS_PORT" -redis-pid "$REDIS_PID" \
  -c "$CLIENTS" -duration "$DURATION" -warmup "$WARMUP"

#!/usr/bin/env bash
# Benchmark of whole dispute lifecycles over gRPC (bench/cmd/benchlifecycle):
# Redis (appendfsync always), etcd, intake, routing, meeting and archive
# started as make run does, CLIENTS concurrent clients each driving one
# lifecycle after another (the transfer path; every OFFICE_EVERY-th through
# the joint-meeting office), then the wait until every group's lag is 0 and
# every closed dispute is sealed. Exits non-zero when a target is missed.
#
#   scripts/bench-lifecycle.sh                      # 50 clients, 5 s warmup, 60 s
#   CLIENTS=20 DURATION=20s scripts/bench-lifecycle.sh
#   LOG_LEVEL=warn scripts/bench-lifecycle.sh       # without the per-RPC log line
#   PPROF=1 KEEP=1 scripts/bench-lifecycle.sh       # services serve /debug/pprof
#   TOPOLOGY=cluster scripts/bench-lifecycle.sh     # as make run-cluster: Redis Cluster, 3 etcd, 2 replicas each
#   PROFILE="routing intake" PPROF=1 scripts/bench-lifecycle.sh
#                    # a 30 s CPU profile of each named process, from 15 s into the run, in PROFILE_DIR (.)
source "$(dirname "$0")/bench-platform.sh"
CLIENTS=${CLIENTS:-50}
DURATION=${DURATION:-60s}
WARMUP=${WARMUP:-5s}
OFFICE_EVERY=${OFFICE_EVERY:-10}

build_platform
start_servers
start_services
machine
cpu=$(cpu_list)

profiles=()
for p in ${PROFILE:-}; do
  (sleep "${PROFILE_DELAY:-15}" && curl -fsS -o "${PROFILE_DIR:-.}/$p-$TOPOLOGY.pprof" \
    "http://127.0.0.1:${ADMIN_PORT[$p]}/debug/pprof/profile?seconds=${PROFILE_SECONDS:-30}" &&
    echo "== CPU profile of $p in ${PROFILE_DIR:-.}/$p-$TOPOLOGY.pprof") &
  profiles+=($!)
done

status=0
# shellcheck disable=SC2046
"$BIN/benchlifecycle" $(driver_addrs) -c "$CLIENTS" -duration "$DURATION" -warmup "$WARMUP" \
  -office-every "$OFFICE_EVERY" -cpu "$cpu" ${BENCH_ARGS:-} || status=$?
for p in "${profiles[@]}"; do wait "$p" || true; done
echo "== logs: $(for s in $(instances); do printf '%s %s lines; ' "$s" "$(wc -l <"$TMP/$s.log")"; done)"
grep -h '"level":"\(WARN\|ERROR\)"' "$TMP"/*.log | cut -c1-300 | sort | uniq -c | sort -rn | head -5 || true
exit $status

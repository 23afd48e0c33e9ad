# Shared by scripts/bench-lifecycle.sh and scripts/bench-events.sh (sourced):
# starts Redis (appendonly, appendfsync always), etcd and the four services
# on free ports under a temporary folder, as make run does, and stops them
# all on exit.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
BIN=$ROOT/bin
REGION=${REGION:-141181}
PKG=github.com/xiaoyi-disputes/disputes
SERVICES=(intake routing meeting archive)

BENCH_NAME=bench-platform
source scripts/bench-lib.sh

build_platform() {
  echo "== building"
  mkdir -p "$BIN"
  go build -o "$BIN/" $PKG/intake/cmd/intake $PKG/routing/cmd/routing $PKG/meeting/cmd/meeting \
    $PKG/archive/cmd/archive $PKG/disputectl/cmd/disputectl
  go build -o "$BIN/benchlifecycle" $PKG/bench/cmd/benchlifecycle
  go build -o "$BIN/bench-echo" $PKG/bench/cmd/echo
}

declare -A GRPC_PORT ADMIN_PORT SVC_PID
start_servers() {
  free_port REDIS_PORT
  free_port ETCD_PORT
  free_port ETCD_PEER_PORT
  for s in "${SERVICES[@]}"; do
    free_port "GRPC_PORT[$s]"
    free_port "ADMIN_PORT[$s]"
  done
  mkdir -p "$TMP/redis" "$TMP/etcd" "$TMP/keys" "$TMP/archive-key" "$TMP/archive"
  echo "== starting redis (appendonly yes, appendfsync always) and etcd in $TMP"
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$TMP/redis" \
    --appendonly yes --appendfsync always --save "" --protected-mode yes >"$TMP/redis.log" 2>&1 &
  REDIS_PID=$!
  pids+=($REDIS_PID)
  wait_for redis redis-cli -p "$REDIS_PORT" ping
  etcd --name bench --data-dir "$TMP/etcd" \
    --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster "bench=http://127.0.0.1:$ETCD_PEER_PORT" >"$TMP/etcd.log" 2>&1 &
  ETCD_PID=$!
  pids+=($ETCD_PID)
  wait_for etcd env ETCDCTL_API=3 etcdctl --endpoints "127.0.0.1:$ETCD_PORT" endpoint health
  "$BIN/disputectl" keygen --dir "$TMP/keys" >/dev/null
  "$BIN/disputectl" keygen --dir "$TMP/archive-key" --name checkpoint >/dev/null
  "$BIN/disputectl" roster init --file "deploy/roster/$REGION.json" --etcd "127.0.0.1:$ETCD_PORT" >/dev/null
  "$BIN/disputectl" config init --dir deploy/config --etcd "127.0.0.1:$ETCD_PORT" >/dev/null
  # Routing refuses deadlines counted in a year without a calendar; the
  # bench loads a stand-in (1 January off only, not the State Council's
  # notice) for the next year when the repository ships none.
  local next=$(( $(TZ=Asia/Shanghai date +%Y) + 1 ))
  if [ ! -f "deploy/config/$REGION/calendar/$next.json" ]; then
    printf 'holiday %s-01-01\n' "$next" >"$TMP/stand-in-$next.txt"
    "$BIN/disputectl" calendar set --region "$REGION" --year "$next" --file "$TMP/stand-in-$next.txt" \
      --etcd "127.0.0.1:$ETCD_PORT" >/dev/null
  fi
  export DISPUTES_PUBLIC_KEY="$TMP/keys"
  export ARCHIVE_SIGNING_KEY="$TMP/archive-key/checkpoint.pem"
  export ARCHIVE_DATA_DIR="$TMP/archive"
  export DISPUTES_REDIS_ADDR="127.0.0.1:$REDIS_PORT"
  export DISPUTES_ETCD_ENDPOINTS="127.0.0.1:$ETCD_PORT"
}

# start_service name: starts (or restarts) one service and waits until it is ready.
# The services serve plaintext gRPC here (the development flag), and Redis
# and etcd run without credentials: these benches measure the platform's
# own work per lifecycle and per event; what mutual TLS and the Redis ACL
# cost per call is measured by make bench-intake.
start_service() {
  local s=$1
  "$BIN/$s" -insecure-plaintext -grpc-addr "127.0.0.1:${GRPC_PORT[$s]}" -admin-addr "127.0.0.1:${ADMIN_PORT[$s]}" \
    -log-level "${LOG_LEVEL:-info}" ${PPROF:+-pprof} >>"$TMP/$s.log" 2>&1 &
  SVC_PID[$s]=$!
  pids+=($!)
  wait_for "$s" curl -fsS "http://127.0.0.1:${ADMIN_PORT[$s]}/readyz"
}

# stop_service name: SIGTERM and wait.
stop_service() {
  local s=$1
  kill -TERM "${SVC_PID[$s]}" 2>/dev/null || true
  wait "${SVC_PID[$s]}" 2>/dev/null || true
}

driver_addrs() {
  echo -intake-addr "127.0.0.1:${GRPC_PORT[intake]}" -routing-addr "127.0.0.1:${GRPC_PORT[routing]}" \
    -meeting-addr "127.0.0.1:${GRPC_PORT[meeting]}" -archive-addr "127.0.0.1:${GRPC_PORT[archive]}" \
    -redis-addr "127.0.0.1:$REDIS_PORT" -key "$TMP/keys/dev-key.pem" -region "$REGION"
}

machine() {
  echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load average $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "== redis $(redis-server --version | awk '{print $3}' | sed 's/^v=//'), appendfsync $(redis-cli -p "$REDIS_PORT" config get appendfsync | tail -1)"
}

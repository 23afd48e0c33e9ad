# Shared by scripts/bench-lifecycle.sh and scripts/bench-events.sh (sourced):
# starts Redis (appendonly, appendfsync always), etcd and the four services
# on free ports under a temporary folder, as make run does, and stops them
# all on exit. With TOPOLOGY=cluster (start_servers, start_services) the
# topology of make run-cluster instead: a Redis Cluster of three masters
# and three replicas, a three-member etcd cluster and two replicas of each
# service (REPLICAS), finding each other through etcd.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
BIN=$ROOT/bin
REGION=${REGION:-141181}
PKG=github.com/xiaoyi-disputes/disputes
SERVICES=(intake routing meeting archive)
TOPOLOGY=${TOPOLOGY:-single}
case $TOPOLOGY in
single) REPLICAS=${REPLICAS:-1} ;;
cluster) REPLICAS=${REPLICAS:-2} ;;
*) echo "TOPOLOGY is single or cluster, not $TOPOLOGY" >&2; exit 2 ;;
esac

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
SERVER_CPU= # name=pid,... of the Redis and etcd processes
start_servers() {
  mkdir -p "$TMP/keys" "$TMP/archive-key" "$TMP/archive"
  if [[ $TOPOLOGY == cluster ]]; then start_cluster_servers; else start_single_servers; fi
  "$BIN/disputectl" keygen --dir "$TMP/keys" >/dev/null
  "$BIN/disputectl" keygen --dir "$TMP/archive-key" --name checkpoint >/dev/null
  "$BIN/disputectl" roster init --file "deploy/roster/$REGION.json" --etcd "$ETCD1" >/dev/null
  "$BIN/disputectl" config init --dir deploy/config --etcd "$ETCD1" >/dev/null
  # Routing refuses deadlines counted in a year without a calendar; the
  # bench loads a stand-in (1 January off only, not the State Council's
  # notice) for the next year when the repository ships none.
  local next=$(( $(TZ=Asia/Shanghai date +%Y) + 1 ))
  if [ ! -f "deploy/config/$REGION/calendar/$next.json" ]; then
    printf 'holiday %s-01-01\n' "$next" >"$TMP/stand-in-$next.txt"
    "$BIN/disputectl" calendar set --region "$REGION" --year "$next" --file "$TMP/stand-in-$next.txt" \
      --etcd "$ETCD1" >/dev/null
  fi
  export DISPUTES_PUBLIC_KEY="$TMP/keys"
  export ARCHIVE_SIGNING_KEY="$TMP/archive-key/checkpoint.pem"
  export ARCHIVE_DATA_DIR="$TMP/archive"
  export DISPUTES_REDIS_ADDR="$REDIS_ADDRS"
  export DISPUTES_ETCD_ENDPOINTS="$ETCD_ENDPOINTS"
}

# instances lists the processes of each service: "intake" for the first
# replica, "intake-2" and up for the others.
instances() {
  local s r
  for s in "${SERVICES[@]}"; do
    for ((r = 1; r <= REPLICAS; r++)); do
      if ((r == 1)); then echo "$s"; else echo "$s-$r"; fi
    done
  done
}

# One Redis and one etcd, as make run.
start_single_servers() {
  free_port REDIS_PORT
  free_port ETCD_PORT
  free_port ETCD_PEER_PORT
  for s in $(instances); do
    free_port "GRPC_PORT[$s]"
    free_port "ADMIN_PORT[$s]"
  done
  mkdir -p "$TMP/redis" "$TMP/etcd"
  echo "== starting redis (appendonly yes, appendfsync always) and etcd in $TMP"
  start_redis
  etcd --name bench --data-dir "$TMP/etcd" \
    --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster "bench=http://127.0.0.1:$ETCD_PEER_PORT" >"$TMP/etcd.log" 2>&1 &
  ETCD_PID=$!
  pids+=($ETCD_PID)
  wait_for etcd env ETCDCTL_API=3 etcdctl --endpoints "127.0.0.1:$ETCD_PORT" endpoint health
  REDIS_ADDRS=127.0.0.1:$REDIS_PORT
  ETCD_ENDPOINTS=127.0.0.1:$ETCD_PORT
  ETCD1=$ETCD_ENDPOINTS
  SERVER_CPU="redis=$REDIS_PID,etcd=$ETCD_PID"
}

# A Redis Cluster of three masters and three replicas and a three-member
# etcd cluster, as make run-cluster (without its ACL users and etcd
# authentication, as the single topology here has none).
start_cluster_servers() {
  local i p node nodes=() initial=() cports=()
  REDIS_NODE_PORTS=()
  while ((${#REDIS_NODE_PORTS[@]} < 6)); do
    free_port node
    # the cluster bus listens on the port + 10000
    if ((node < 22000)) && ! (exec 3<>"/dev/tcp/127.0.0.1/$((node + 10000))") 2>/dev/null; then REDIS_NODE_PORTS+=("$node"); fi
  done
  for i in 0 1 2; do
    free_port "cports[$i]"
    free_port "ETCD_PEER_PORT"
    initial+=("e$i=http://127.0.0.1:$ETCD_PEER_PORT")
    ETCD_PEERS[$i]=$ETCD_PEER_PORT
  done
  for s in $(instances); do
    free_port "GRPC_PORT[$s]"
    free_port "ADMIN_PORT[$s]"
  done
  echo "== starting a Redis Cluster (3 masters, 3 replicas; appendonly yes, appendfsync always) and 3 etcd members in $TMP"
  for p in "${REDIS_NODE_PORTS[@]}"; do
    mkdir -p "$TMP/redis-$p"
    redis-server --port "$p" --bind 127.0.0.1 --dir "$TMP/redis-$p" \
      --appendonly yes --appendfsync always --save "" --protected-mode yes \
      --cluster-enabled yes --cluster-config-file "$TMP/redis-$p/nodes.conf" --cluster-node-timeout 5000 \
      >"$TMP/redis-$p.log" 2>&1 &
    pids+=($!)
    SERVER_CPU+="${SERVER_CPU:+,}redis=$!"
    nodes+=("127.0.0.1:$p")
  done
  REDIS_PORT=${REDIS_NODE_PORTS[0]}
  for p in "${REDIS_NODE_PORTS[@]}"; do wait_for "redis $p" redis-cli -p "$p" ping; done
  redis-cli --cluster create "${nodes[@]}" --cluster-replicas 1 --cluster-yes >"$TMP/redis-cluster-create.log"
  for p in "${REDIS_NODE_PORTS[@]}"; do
    wait_for "redis cluster at $p" bash -c "redis-cli -p $p cluster info | grep -q cluster_state:ok"
  done
  initial=$(IFS=,; echo "${initial[*]}")
  for i in 0 1 2; do
    etcd --name "e$i" --data-dir "$TMP/etcd-e$i" \
      --listen-client-urls "http://127.0.0.1:${cports[$i]}" --advertise-client-urls "http://127.0.0.1:${cports[$i]}" \
      --listen-peer-urls "http://127.0.0.1:${ETCD_PEERS[$i]}" --initial-advertise-peer-urls "http://127.0.0.1:${ETCD_PEERS[$i]}" \
      --initial-cluster "$initial" --initial-cluster-state new >"$TMP/etcd-e$i.log" 2>&1 &
    pids+=($!)
    SERVER_CPU+=",etcd=$!"
  done
  ETCD_ENDPOINTS=$(printf '127.0.0.1:%s,' "${cports[@]}")
  ETCD_ENDPOINTS=${ETCD_ENDPOINTS%,}
  ETCD1=127.0.0.1:${cports[0]}
  wait_for etcd env ETCDCTL_API=3 etcdctl --endpoints "$ETCD_ENDPOINTS" endpoint health
  REDIS_ADDRS=$(printf '127.0.0.1:%s,' "${REDIS_NODE_PORTS[@]}")
  REDIS_ADDRS=${REDIS_ADDRS%,}
}

# start_service name: starts (or restarts) one service process (an entry of
# instances) and waits until it is ready.
# The services serve plaintext gRPC here (the development flag), and Redis
# and etcd run without credentials: these benches measure the platform's
# own work per lifecycle and per event; what mutual TLS and the Redis ACL
# cost per call is measured by make bench-intake.
start_service() {
  local s=$1
  "$BIN/${s%-*}" -insecure-plaintext -grpc-addr "127.0.0.1:${GRPC_PORT[$s]}" -admin-addr "127.0.0.1:${ADMIN_PORT[$s]}" \
    -log-level "${LOG_LEVEL:-info}" ${PPROF:+-pprof} >>"$TMP/$s.log" 2>&1 &
  SVC_PID[$s]=$!
  pids+=($!)
  wait_for "$s" curl -fsS "http://127.0.0.1:${ADMIN_PORT[$s]}/readyz"
}

# start_services starts every replica of every service.
start_services() {
  echo "== starting ${SERVICES[*]} ($REPLICAS replica(s) each)"
  local s
  for s in $(instances); do start_service "$s"; done
}

# cpu_list is the driver's -cpu: the Redis and etcd processes, then every
# service process named by its service (the driver sums the replicas).
cpu_list() {
  local out=$SERVER_CPU s
  for s in $(instances); do out+=",${s%-*}=${SVC_PID[$s]}"; done
  echo "$out"
}

# stop_service name: SIGTERM and wait.
stop_service() {
  local s=$1
  kill -TERM "${SVC_PID[$s]}" 2>/dev/null || true
  wait "${SVC_PID[$s]}" 2>/dev/null || true
}

# driver_addrs: the driver's flags; a service's replicas comma separated
# (called in turn), Redis Cluster nodes likewise.
driver_addrs() {
  local s i
  declare -A a=()
  for i in $(instances); do
    s=${i%-*}
    a[$s]+="${a[$s]:+,}127.0.0.1:${GRPC_PORT[$i]}"
  done
  echo -intake-addr "${a[intake]}" -routing-addr "${a[routing]}" -meeting-addr "${a[meeting]}" \
    -archive-addr "${a[archive]}" -redis-addr "$REDIS_ADDRS" -key "$TMP/keys/dev-key.pem" -region "$REGION"
}

machine() {
  echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load average $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "== redis $(redis-server --version | awk '{print $3}' | sed 's/^v=//'), appendfsync $(redis-cli -p "$REDIS_PORT" config get appendfsync | tail -1); topology $TOPOLOGY: redis $REDIS_ADDRS, etcd $ETCD_ENDPOINTS, $REPLICAS replica(s) of each service"
}

#!/usr/bin/env bash
# Benchmark of RegisterDispute: intake over gRPC against its own Redis
# (appendonly, appendfsync always) and etcd, beside a bare gRPC echo server,
# both driven by the same client (bench/cmd/benchintake) in the same run.
#
#   scripts/bench-intake.sh            # 50 clients, 3 s warmup, 20 s each
#   CLIENTS=50 DURATION=20s WARMUP=3s CONNS=1 scripts/bench-intake.sh
#   LOG_LEVEL=warn scripts/bench-intake.sh  # without the per-RPC log line
#   PROFILE=1 scripts/bench-intake.sh  # also a CPU profile (perf, all CPUs)
#                                      # of the intake run and Redis INFO
#
# Everything runs under a temporary folder that is removed at the end. As in
# `make run`, intake serves mutual TLS (the echo too, with intake's
# certificate, so both targets pay the same), Redis has the platform's ACL
# user and etcd authentication is on.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BIN=$ROOT/bin
REGION=${REGION:-141181}
CLIENTS=${CLIENTS:-50}
CONNS=${CONNS:-1}
DURATION=${DURATION:-20s}
WARMUP=${WARMUP:-3s}
PKG=github.com/xiaoyi-disputes/disputes

BENCH_NAME=bench-intake
source scripts/bench-lib.sh

echo "== building"
mkdir -p "$BIN"
go build -o "$BIN/" $PKG/intake/cmd/intake $PKG/disputectl/cmd/disputectl
go build -o "$BIN/bench-echo" $PKG/bench/cmd/echo
go build -o "$BIN/benchintake" $PKG/bench/cmd/benchintake

free_port REDIS_PORT
free_port ETCD_PORT
free_port ETCD_PEER_PORT
free_port INTAKE_PORT
free_port ADMIN_PORT
free_port ECHO_PORT
mkdir -p "$TMP/redis" "$TMP/etcd" "$TMP/keys"
"$BIN/disputectl" certs init --dir "$TMP/certs" >/dev/null
CERTS=$TMP/certs
for f in redis-password redis-admin-password etcd-password etcd-root-password; do
  (umask 077 && head -c 24 /dev/urandom | base64 | tr -d '/+=' >"$TMP/$f")
done
sha() { tr -d '\n' <"$1" | sha256sum | cut -d' ' -f1; }
# The platform's user as in scripts/run.sh, and one for this script's INFO
# and CONFIG reads.
cat >"$TMP/users.acl" <<EOA
user default off ~* &* +@all
user disputes on #$(sha "$TMP/redis-password") ~* &* +@all -@dangerous +info
user bench on #$(sha "$TMP/redis-admin-password") ~* &* +@all
EOA
rcli() { REDISCLI_AUTH=$(cat "$TMP/redis-admin-password") redis-cli -p "$REDIS_PORT" --user bench "$@"; }

echo "== starting redis (appendonly yes, appendfsync always) and etcd in $TMP"
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$TMP/redis" \
  --appendonly yes --appendfsync always --save "" --protected-mode yes --aclfile "$TMP/users.acl" >"$TMP/redis.log" 2>&1 &
REDIS_PID=$!
pids+=($REDIS_PID)
wait_for redis rcli ping
etcd --name bench --data-dir "$TMP/etcd" \
  --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
  --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
  --initial-cluster "bench=http://127.0.0.1:$ETCD_PEER_PORT" >"$TMP/etcd.log" 2>&1 &
ETCD_PID=$!
pids+=($ETCD_PID)
export ETCDCTL_API=3 ETCDCTL_ENDPOINTS="127.0.0.1:$ETCD_PORT"
wait_for etcd etcdctl endpoint health
{
  etcdctl role add root
  etcdctl user add root --interactive=false <"$TMP/etcd-root-password"
  etcdctl user grant-role root root
  etcdctl role add disputes
  etcdctl role grant-permission disputes --prefix=true readwrite /disputes/
  etcdctl user add disputes --interactive=false <"$TMP/etcd-password"
  etcdctl user grant-role disputes disputes
  etcdctl auth enable
} >/dev/null
export DISPUTES_REDIS_USER=disputes DISPUTES_REDIS_PASSWORD_FILE="$TMP/redis-password"
export DISPUTES_ETCD_USER=disputes DISPUTES_ETCD_PASSWORD_FILE="$TMP/etcd-password"

"$BIN/disputectl" keygen --dir "$TMP/keys" >/dev/null
"$BIN/disputectl" roster init --file "deploy/roster/$REGION.json" --etcd "127.0.0.1:$ETCD_PORT" >/dev/null

echo "== starting intake and the echo server"
DISPUTES_PUBLIC_KEY="$TMP/keys/dev-key.pub.pem" DISPUTES_REDIS_ADDR="127.0.0.1:$REDIS_PORT" \
  DISPUTES_ETCD_ENDPOINTS="127.0.0.1:$ETCD_PORT" INTAKE_LOG_LEVEL="${LOG_LEVEL:-info}" \
  "$BIN/intake" -grpc-addr "127.0.0.1:$INTAKE_PORT" -admin-addr "127.0.0.1:$ADMIN_PORT" \
  -tls-cert "$CERTS/intake.pem" -tls-key "$CERTS/intake-key.pem" -tls-ca "$CERTS/ca.pem" >"$TMP/intake.log" 2>&1 &
INTAKE_PID=$!
pids+=($INTAKE_PID)
"$BIN/bench-echo" -addr "127.0.0.1:$ECHO_PORT" \
  -tls-cert "$CERTS/intake.pem" -tls-key "$CERTS/intake-key.pem" -tls-ca "$CERTS/ca.pem" >"$TMP/echo.log" 2>&1 &
ECHO_PID=$!
pids+=($ECHO_PID)
wait_for intake curl -fsS "http://127.0.0.1:$ADMIN_PORT/readyz"
wait_for echo bash -c "exec 3<>/dev/tcp/127.0.0.1/$ECHO_PORT"

echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(awk '/MemTotal/ {printf "%.0f GiB RAM", $2/1048576}' /proc/meminfo)"
echo "== redis $(redis-server --version | awk '{print $3}' | sed 's/^v=//'), appendfsync $(rcli config get appendfsync | tail -1), gRPC over mutual TLS 1.3"
echo "== load average before the run: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== running: $CLIENTS clients, warmup $WARMUP, $DURATION per target"

perf_pid=
if [[ ${PROFILE:-} == 1 ]] && command -v perf >/dev/null; then
  # Profile the whole machine during the intake run (after the echo's).
  ( sleep "$(( ${WARMUP%s} + ${DURATION%s} + ${WARMUP%s} ))"
    exec perf record -F 499 -a -g -o "$TMP/perf.data" -- sleep "${DURATION%s}" ) >"$TMP/perf.log" 2>&1 &
  perf_pid=$!
fi

status=0
"$BIN/benchintake" -intake-addr "127.0.0.1:$INTAKE_PORT" -echo-addr "127.0.0.1:$ECHO_PORT" \
  -key "$TMP/keys/dev-key.pem" -region "$REGION" \
  -tls-cert "$CERTS/client.pem" -tls-key "$CERTS/client-key.pem" -tls-ca "$CERTS/ca.pem" -c "$CLIENTS" -conns "$CONNS" \
  -duration "$DURATION" -warmup "$WARMUP" ${DRIVER_PROFILE:+-cpuprofile "$DRIVER_PROFILE"} \
  -echo-cpu "echo=$ECHO_PID" -intake-cpu "intake=$INTAKE_PID,redis=$REDIS_PID,etcd=$ETCD_PID" || status=$?

# Registrations per script run: each registration adds one DisputeRegistered
# entry to the stream (XADD); the batch loops send one EVALSHA per run.
rcli info commandstats | tr -d '\r' | awk -F'[:=,]' '
  $1 == "cmdstat_evalsha" { runs = $3; usec = $5 }
  $1 == "cmdstat_xadd"    { regs = $3 }
  END { if (runs > 0) printf "== redis: %d registration script runs, %.1f registrations per run, %.0f µs per run\n", runs, regs / runs, usec / runs }'

if [[ -n $perf_pid ]]; then
  wait "$perf_pid" || true
  echo "== CPU by process and object during the intake run (perf, all CPUs)"
  perf report -i "$TMP/perf.data" --no-children --sort comm,dso -g none --percent-limit 1 --stdio 2>/dev/null | grep -v '^#' | grep -v '^$' | head -25 || true
  echo "== hottest symbols of the intake process"
  perf report -i "$TMP/perf.data" --comm intake --no-children --sort sym -g none --percent-limit 0.7 --stdio 2>/dev/null | grep -v '^#' | grep -v '^$' | head -40 || true
  echo "== intake time under ed25519 token verification, the Redis client and the gRPC server (inclusive)"
  perf report -i "$TMP/perf.data" --comm intake --children --sort sym -g none --stdio 2>/dev/null |
    grep -E 'authn\.\(\*Verifier\)\.Verify|redis/v9\.\(\*Script\)\.Run|\(\*Service\)\.RegisterDispute$|protovalidate.*Validate$|unaryLog$|slog.*Handle$' | head -12 || true
fi
if [[ ${PROFILE:-} == 1 ]]; then
  rcli info commandstats | grep -E 'evalsha|eval|get|set|xadd' || true
  rcli info persistence | grep -E 'aof_delayed_fsync|aof_current_size' || true
fi
exit $status

#!/usr/bin/env bash
# Runs the platform on this machine as it runs across several: a Redis
# Cluster of three masters and three replicas (7001-7006), a three-member
# etcd cluster (2490, 2492, 2494), two replicas of intake, routing and
# meeting, two of the archive (one elected through etcd writes the sealed
# log in ./var-cluster/archive, the other serves reads and takes over when
# it dies), and the gateway in front of them, finding the
# replicas through etcd (data under ./var-cluster). Ctrl-C stops everything,
# services first, then the servers; a replica or server that dies meanwhile
# is reported and the rest go on.
# docs/ARCHITECTURE.md ("Scale") and deploy/README.md say what each part is.
#
# Everything listens on 127.0.0.1 only, with the same mutual TLS, Redis ACL
# user and etcd authentication as scripts/run.sh. The first replica of each
# service has run.sh's ports, so the same examples work against either.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
VAR=$ROOT/var-cluster
BIN=$ROOT/bin
REGION=141181
REDIS_PORTS=(7001 7002 7003 7004 7005 7006)
ETCD_PORTS=(2490 2492 2494)
CERTS=$VAR/certs
SECRETS=$VAR/secrets
mkdir -p "$VAR/keys" "$VAR/archive-key" "$VAR/log"
mkdir -p -m 0700 "$SECRETS"

# Replica a of each service has run.sh's ports; replica b the next ten up.
declare -A GRPC=([intake]=9101 [routing]=9102 [meeting]=9103 [archive]=9104)
declare -A REPLICAS=([intake]="a b" [routing]="a b" [meeting]="a b" [archive]="a b")
for port in "${REDIS_PORTS[@]}" "${ETCD_PORTS[@]}" 8080 9200 9101 9102 9103 9104 9111 9112 9113 \
  9114 9201 9202 9203 9204 9211 9212 9213 9214; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "port $port is already in use: is 'make run' or 'make run-cluster' still running?" >&2
    exit 1
  fi
done

servers=() # Redis and etcd
services=()
gateway_pid=
gateway_b_pid=
names=()
pids=()
stop_all() {
  trap - EXIT INT TERM
  echo
  echo "stopping..."
  # The gateways, then every service replica together, then etcd and Redis.
  local p
  for p in $gateway_pid $gateway_b_pid; do kill -TERM "$p" 2>/dev/null || true; done
  for p in $gateway_pid $gateway_b_pid; do wait "$p" 2>/dev/null || true; done
  local p
  for p in "${services[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${services[@]}"; do wait "$p" 2>/dev/null || true; done
  for p in "${servers[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${servers[@]}"; do wait "$p" 2>/dev/null || true; done
  echo "stopped."
}
trap stop_all EXIT
trap 'exit 0' INT TERM

# shellcheck source=scripts/run-lib.sh
source scripts/run-lib.sh
WAIT_TENTHS=300

"$BIN/disputectl" certs init --dir "$CERTS" >/dev/null
secret "$SECRETS/redis-password"
secret "$SECRETS/redis-admin-password"
secret "$SECRETS/etcd-password"
secret "$SECRETS/etcd-root-password"

# Every node has the users of run.sh's Redis, and "admin", which forms the
# cluster and which the replicas replicate as (masteruser).
sha() { tr -d '\n' <"$1" | sha256sum | cut -d' ' -f1; }
REDIS_ADMIN=$(cat "$SECRETS/redis-admin-password")
for port in "${REDIS_PORTS[@]}"; do
  dir=$VAR/redis-$port
  mkdir -p "$dir"
  (umask 077 && cat >"$dir/users.acl" <<EOA
user default off ~* &* +@all
user disputes on #$(sha "$SECRETS/redis-password") ~* &* +@all -@dangerous +info
user admin on #$(sha "$SECRETS/redis-admin-password") ~* &* +@all
EOA
  )
  start "redis-$port" "$VAR/log/redis-$port.log" redis-server --port "$port" --bind 127.0.0.1 --dir "$dir" \
    --appendonly yes --appendfsync always --save "" --protected-mode yes --aclfile "$dir/users.acl" \
    --cluster-enabled yes --cluster-config-file "$dir/nodes.conf" --cluster-node-timeout 5000 \
    --masteruser admin --masterauth "$REDIS_ADMIN"
  servers+=("${pids[-1]}")
done
acli() { REDISCLI_AUTH=$REDIS_ADMIN redis-cli --user admin "$@"; }
for port in "${REDIS_PORTS[@]}"; do wait_for "redis $port" acli -p "$port" ping; done
if ! acli -p "${REDIS_PORTS[0]}" cluster info | grep -q cluster_state:ok; then
  if [[ $(acli -p "${REDIS_PORTS[0]}" cluster info | grep cluster_known_nodes | tr -dc 0-9) == 1 ]]; then
    nodes=()
    for port in "${REDIS_PORTS[@]}"; do nodes+=("127.0.0.1:$port"); done
    acli --cluster create "${nodes[@]}" --cluster-replicas 1 --cluster-yes >"$VAR/log/redis-cluster-create.log"
  fi
fi
cluster_ok() { acli -p "${REDIS_PORTS[0]}" cluster info | grep -q cluster_state:ok; }
wait_for "redis cluster" cluster_ok

initial=()
for i in 0 1 2; do initial+=("e$i=http://127.0.0.1:$((ETCD_PORTS[i] + 1))"); done
initial=$(IFS=,; echo "${initial[*]}")
for i in 0 1 2; do
  c=${ETCD_PORTS[$i]} p=$((ETCD_PORTS[i] + 1))
  start "etcd-e$i" "$VAR/log/etcd-e$i.log" etcd --name "e$i" --data-dir "$VAR/etcd-e$i" \
    --listen-client-urls "http://127.0.0.1:$c" --advertise-client-urls "http://127.0.0.1:$c" \
    --listen-peer-urls "http://127.0.0.1:$p" --initial-advertise-peer-urls "http://127.0.0.1:$p" \
    --initial-cluster "$initial" --initial-cluster-state new
  servers+=("${pids[-1]}")
done
ETCD_ENDPOINTS=$(printf '127.0.0.1:%s,' "${ETCD_PORTS[@]}")
ETCD_ENDPOINTS=${ETCD_ENDPOINTS%,}
export ETCDCTL_API=3 ETCDCTL_ENDPOINTS="$ETCD_ENDPOINTS"
etcd_up() { etcdctl endpoint health || ETCDCTL_USER="root:$(cat "$SECRETS/etcd-root-password")" etcdctl endpoint health; }
wait_for "etcd" etcd_up
if etcdctl user list >/dev/null 2>&1; then
  etcdctl role add root >/dev/null
  etcdctl user add root --interactive=false <"$SECRETS/etcd-root-password" >/dev/null
  etcdctl user grant-role root root >/dev/null
  etcdctl role add disputes >/dev/null
  etcdctl role grant-permission disputes --prefix=true readwrite /disputes/ >/dev/null
  etcdctl user add disputes --interactive=false <"$SECRETS/etcd-password" >/dev/null
  etcdctl user grant-role disputes disputes >/dev/null
  etcdctl auth enable >/dev/null
  echo "etcd: authentication enabled (users root and disputes)"
fi

export DISPUTES_REDIS_USER=disputes DISPUTES_REDIS_PASSWORD_FILE="$SECRETS/redis-password"
export DISPUTES_ETCD_USER=disputes DISPUTES_ETCD_PASSWORD_FILE="$SECRETS/etcd-password"
export DISPUTES_TLS_CA="$CERTS/ca.pem" DISPUTES_TLS_CERT="$CERTS/client.pem" DISPUTES_TLS_KEY="$CERTS/client-key.pem"

"$BIN/disputectl" keygen --dir "$VAR/keys"
"$BIN/disputectl" keygen --dir "$VAR/archive-key" --name checkpoint
ETCD1=127.0.0.1:${ETCD_PORTS[0]}
"$BIN/disputectl" roster init --file "deploy/roster/$REGION.json" --etcd "$ETCD1"
"$BIN/disputectl" config init --dir deploy/config --etcd "$ETCD1"
"$BIN/disputectl" calendar list --region "$REGION" --etcd "$ETCD1"

export DISPUTES_PUBLIC_KEY="$VAR/keys"
export ARCHIVE_SIGNING_KEY="$VAR/archive-key/checkpoint.pem"
export ARCHIVE_DATA_DIR="$VAR/archive"
REDIS_ADDRS=$(printf '127.0.0.1:%s,' "${REDIS_PORTS[@]}")
export DISPUTES_REDIS_ADDR=${REDIS_ADDRS%,}
export DISPUTES_ETCD_ENDPOINTS="$ETCD_ENDPOINTS"
declare -A ADDRS=()
admins=()
for svc in intake routing meeting archive; do
  for r in ${REPLICAS[$svc]}; do
    off=0
    [[ $r == b ]] && off=10
    grpc=$((GRPC[$svc] + off)) admin=$((GRPC[$svc] + 100 + off))
    start "$svc-$r" "$VAR/log/$svc-$r.log" "$BIN/$svc" -grpc-addr "127.0.0.1:$grpc" -admin-addr "127.0.0.1:$admin" \
      -tls-cert "$CERTS/$svc.pem" -tls-key "$CERTS/$svc-key.pem" -reflection
    services+=("${pids[-1]}")
    ADDRS[$svc]+="${ADDRS[$svc]:+,}127.0.0.1:$grpc"
    admins+=("$admin")
  done
done
for admin in "${admins[@]}"; do wait_for "service on admin port $admin" curl -fsS "http://127.0.0.1:$admin/readyz"; done
SCHEME=http
https=()
if [[ ${HTTPS:-} == 1 ]]; then
  SCHEME=https
  https=(-https-cert "$CERTS/gateway.pem" -https-key "$CERTS/gateway-key.pem")
fi
# Each replica registered its gRPC address in etcd under a lease; the
# gateways find them there (-discovery) and call them in turn. The two
# gateways keep the console's sessions in the Redis Cluster, so a browser
# signed in on one is signed in on the other (development sign-in, as in
# make run).
gateway_args=(-discovery -tls-cert "$CERTS/gateway.pem" -tls-key "$CERTS/gateway-key.pem" "${https[@]}"
  -signing-key "$VAR/keys/dev-key.pem" -signin-region "$REGION" -dev-signin)
start gateway "$VAR/log/gateway.log" "$BIN/gateway" -http-addr 127.0.0.1:8080 -admin-addr 127.0.0.1:9200 "${gateway_args[@]}"
gateway_pid=${pids[-1]}
start gateway-b "$VAR/log/gateway-b.log" "$BIN/gateway" -http-addr 127.0.0.1:8081 -admin-addr 127.0.0.1:9210 "${gateway_args[@]}"
gateway_b_pid=${pids[-1]}
wait_for "gateway" curl -fsS http://127.0.0.1:9200/readyz
wait_for "gateway-b" curl -fsS http://127.0.0.1:9210/readyz

TOKEN=$("$BIN/disputectl" token --key "$VAR/keys/dev-key.pem" --region "$REGION" --dept tax --staff wang --role clerk --role handler --ttl 12h)
ADMIN_TOKEN=$("$BIN/disputectl" token --key "$VAR/keys/dev-key.pem" --region "$REGION" --dept tax --staff admin --role admin --ttl 12h)
NOTE_KEY=$("$BIN/disputectl" archive key --key "$VAR/archive-key/checkpoint.pem" --region "$REGION")
GRPCURL=grpcurl
command -v grpcurl >/dev/null 2>&1 || GRPCURL="$ROOT/.tools/bin/grpcurl"
GRPCURL="$GRPCURL -cacert var-cluster/certs/ca.pem -cert var-cluster/certs/client.pem -key var-cluster/certs/client-key.pem"
CURL="curl -s"
[[ $SCHEME == https ]] && CURL="curl -s --cacert var-cluster/certs/ca.pem"
GW=$SCHEME://localhost:8080

cat <<EOT

社会保险费征缴争议联合处置平台 is running as a cluster.

  Staff console (工作台)  $GW/  and  $SCHEME://localhost:8081/  (two gateways sharing the sessions;
                          development sign-in: pick a unit and a person)
  OpenAPI                 $GW/openapi.json
  gRPC (mutual TLS)       intake ${ADDRS[intake]}  routing ${ADDRS[routing]}
                          meeting ${ADDRS[meeting]}  archive ${ADDRS[archive]}
                          registered in etcd under /disputes/_services/; the gateway finds them there, round robin
                          CA and client certificate in var-cluster/certs (ca.pem, client.pem, client-key.pem)
  Admin (metrics/health)  gateways localhost:9200 and 9210, services localhost:9201-9204 and 9211-9214 (plain HTTP;
                          an archive's /readyz says sealed_log writer or standby)
  Redis Cluster           $DISPUTES_REDIS_ADDR
                          (3 masters, 3 replicas; AOF, appendfsync always; user disputes, password var-cluster/secrets/redis-password)
  etcd cluster            $ETCD_ENDPOINTS (users root and disputes, passwords in var-cluster/secrets)
  Sealed log ($REGION)     $GW/tlog/$REGION/checkpoint  (tiles under /tlog/$REGION/tile/; data in $VAR/archive,
                          written by the archive replica elected in etcd, read by both)
  Its note key            $NOTE_KEY
  Logs                    $VAR/log/

Dev token (tax clerk/handler, 12 h, the longest a token may live):
  export TOKEN=$TOKEN
Admin token (roster):
  export ADMIN_TOKEN=$ADMIN_TOKEN

Try:
  $GRPCURL localhost:9101 list
  $CURL -X POST $GW/v1/regions/$REGION/disputes -H "Authorization: Bearer \$TOKEN" \\
    -d '{"requestId":"demo-1","dispute":{"claimant":{"kind":"CLAIMANT_KIND_INDIVIDUAL","name":"张三","phone":"13812345678"},"complaint":"单位未足额缴纳社会保险费","category":"CATEGORY_CONTRIBUTION_AMOUNT","channel":"CHANNEL_WINDOW","registeringDepartment":"tax"}}'
  $CURL $GW/v1/regions/$REGION/disputes/$(date +%Y)-1/dossier -H "Authorization: Bearer \$TOKEN"
  $GRPCURL -H "authorization: Bearer \$TOKEN" -d '{"name":"regions/$REGION/disputes/$(date +%Y)-1"}' localhost:9112 disputes.routing.v1.RoutingService/GetTracking
  $BIN/disputectl roster get --token \$ADMIN_TOKEN

Press Ctrl-C to stop.
EOT

# A replica, a Redis node or an etcd member that exits is reported and the
# rest go on (the others take over its work: try killing one); the whole
# stops when the gateway exits, or on Ctrl-C.
set +e
declare -A reported=()
while kill -0 "$gateway_pid" 2>/dev/null; do
  live=()
  for i in "${!pids[@]}"; do
    if kill -0 "${pids[$i]}" 2>/dev/null; then
      live+=("${pids[$i]}")
    elif [[ -z ${reported[$i]:-} ]]; then
      reported[$i]=1
      echo "${names[$i]} exited; see $VAR/log/${names[$i]}.log" >&2
    fi
  done
  wait -n "${live[@]}"
done
echo "gateway exited; see $VAR/log/gateway.log" >&2
exit 1

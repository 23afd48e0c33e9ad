#!/usr/bin/env bash
# Runs the whole platform on this machine: Redis on 6390 and etcd on 2390
# (data under ./var), then meeting, intake, routing, archive and the gateway.
# Ctrl-C stops everything, services first, then the servers.
#
# Everything listens on 127.0.0.1 only. The services speak gRPC over mutual
# TLS with certificates from a local CA (var/certs, `disputectl certs init`);
# Redis has an ACL user and etcd authentication, with passwords in
# var/secrets. HTTPS=1 makes the gateway serve HTTPS with its certificate.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
VAR=$ROOT/var
BIN=$ROOT/bin
REGION=141181
REDIS_PORT=${REDIS_PORT:-6390}
ETCD_PORT=${ETCD_PORT:-2390}
ETCD_PEER_PORT=${ETCD_PEER_PORT:-2391}
CERTS=$VAR/certs
SECRETS=$VAR/secrets
mkdir -p "$VAR/redis" "$VAR/etcd" "$VAR/keys" "$VAR/archive-key" "$VAR/log"
mkdir -p -m 0700 "$SECRETS"

for port in $REDIS_PORT $ETCD_PORT 8080 9200 9101 9102 9103 9104 9201 9202 9203 9204; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "port $port is already in use: is another 'make run' still running?" >&2
    exit 1
  fi
done

pids=()
names=()
stop_all() {
  trap - EXIT INT TERM
  echo
  echo "stopping..."
  # Gateway first, then the four services together, then etcd and Redis.
  local i n=${#pids[@]}
  if ((n > 6)); then
    kill -TERM "${pids[6]}" 2>/dev/null || true
    wait "${pids[6]}" 2>/dev/null || true
  fi
  for ((i=2; i<n && i<6; i++)); do kill -TERM "${pids[$i]}" 2>/dev/null || true; done
  for ((i=2; i<n && i<6; i++)); do wait "${pids[$i]}" 2>/dev/null || true; done
  for ((i=1; i>=0 && i<n; i--)); do
    kill -TERM "${pids[$i]}" 2>/dev/null || true
    wait "${pids[$i]}" 2>/dev/null || true
  done
  echo "stopped."
}
trap stop_all EXIT
trap 'exit 0' INT TERM

# shellcheck source=scripts/run-lib.sh
source scripts/run-lib.sh

# The local CA and one certificate per service (kept when they exist), and
# the passwords of Redis's and etcd's users, made once, readable by us only.
"$BIN/disputectl" certs init --dir "$CERTS" >/dev/null
secret "$SECRETS/redis-password"
secret "$SECRETS/etcd-password"
secret "$SECRETS/etcd-root-password"

# Redis's users: "default" is off, so every connection must log in; it keeps
# its rights only because Redis 7.0 replays the append-only file's
# transactions as that user after a crash. "disputes" is the platform's:
# everything but the dangerous commands (FLUSHALL, KEYS, CONFIG, DEBUG, ...),
# plus INFO. The file holds the password's SHA-256, not the password. The
# rules are the tests' too (platform/testenv.RedisACLRules).
(umask 077 && cat >"$VAR/redis/users.acl" <<EOA
user default off ~* &* +@all
user disputes on #$(tr -d '\n' <"$SECRETS/redis-password" | sha256sum | cut -d' ' -f1) ~* &* +@all -@dangerous +info
EOA
)
# Redis with the append-only file fsynced on every write (appendfsync always):
# an acknowledged write survives a crash of Redis or of the machine.
start redis "$VAR/log/redis.log" redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$VAR/redis" \
  --appendonly yes --appendfsync always --save "" --protected-mode yes --aclfile "$VAR/redis/users.acl"
# redis-cli reads the password from REDISCLI_AUTH, kept off its command line.
rcli() { REDISCLI_AUTH=$(cat "$SECRETS/redis-password") redis-cli -p "$REDIS_PORT" --user disputes "$@"; }
wait_for "redis" rcli ping

start etcd "$VAR/log/etcd.log" etcd --name dev --data-dir "$VAR/etcd" \
  --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
  --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
  --initial-cluster "dev=http://127.0.0.1:$ETCD_PEER_PORT"
export ETCDCTL_API=3 ETCDCTL_ENDPOINTS="127.0.0.1:$ETCD_PORT"
etcd_up() { etcdctl endpoint health || ETCDCTL_USER="root:$(cat "$SECRETS/etcd-root-password")" etcdctl endpoint health; }
wait_for "etcd" etcd_up
# etcd authentication, once: a root user, and the platform's user "disputes"
# whose role may read and write under /disputes/ and nothing else.
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
# disputectl's certificate; each service is given its own below.
export DISPUTES_TLS_CA="$CERTS/ca.pem" DISPUTES_TLS_CERT="$CERTS/client.pem" DISPUTES_TLS_KEY="$CERTS/client-key.pem"

# Two keys with two jobs: var/keys signs and verifies staff tokens (the
# services read every *.pub.pem there, so `disputectl keys rotate` takes effect
# without a restart); var/archive-key signs the sealed log's checkpoints.
"$BIN/disputectl" keygen --dir "$VAR/keys"
"$BIN/disputectl" keygen --dir "$VAR/archive-key" --name checkpoint
"$BIN/disputectl" roster init --file "deploy/roster/$REGION.json" --etcd "127.0.0.1:$ETCD_PORT"
"$BIN/disputectl" config init --dir deploy/config --etcd "127.0.0.1:$ETCD_PORT"
# The years with a business calendar, and any missing: routing refuses a
# deadline counted in a missing year until `disputectl calendar set` loads it.
"$BIN/disputectl" calendar list --region "$REGION" --etcd "127.0.0.1:$ETCD_PORT"

export DISPUTES_PUBLIC_KEY="$VAR/keys"
# The archive signs its sealed log's checkpoints with a key of its own, never the token key.
export ARCHIVE_SIGNING_KEY="$VAR/archive-key/checkpoint.pem"
export ARCHIVE_DATA_DIR="$VAR/archive"
export DISPUTES_REDIS_ADDR="127.0.0.1:$REDIS_PORT"
export DISPUTES_ETCD_ENDPOINTS="127.0.0.1:$ETCD_PORT"
i=1
for svc in intake routing meeting archive; do
  start "$svc" "$VAR/log/$svc.log" "$BIN/$svc" -grpc-addr "127.0.0.1:910$i" -admin-addr "127.0.0.1:920$i" \
    -tls-cert "$CERTS/$svc.pem" -tls-key "$CERTS/$svc-key.pem" -reflection
  i=$((i+1))
done
i=1
for svc in intake routing meeting archive; do
  wait_for "$svc" curl -fsS "http://127.0.0.1:920$i/readyz"
  i=$((i+1))
done
SCHEME=http
https=()
if [[ ${HTTPS:-} == 1 ]]; then
  SCHEME=https
  https=(-https-cert "$CERTS/gateway.pem" -https-key "$CERTS/gateway-key.pem")
fi
# The console's development sign-in: pick a unit and a person of the roster,
# no password; the gateway mints their token with the dev signing key.
start gateway "$VAR/log/gateway.log" "$BIN/gateway" -http-addr 127.0.0.1:8080 -admin-addr 127.0.0.1:9200 \
  -tls-cert "$CERTS/gateway.pem" -tls-key "$CERTS/gateway-key.pem" "${https[@]}" \
  -signing-key "$VAR/keys/dev-key.pem" -signin-region "$REGION" -dev-signin
wait_for "gateway" curl -fsS http://127.0.0.1:9200/readyz

TOKEN=$("$BIN/disputectl" token --key "$VAR/keys/dev-key.pem" --region "$REGION" --dept tax --staff wang --role clerk --role handler --ttl 12h)
ADMIN_TOKEN=$("$BIN/disputectl" token --key "$VAR/keys/dev-key.pem" --region "$REGION" --dept tax --staff admin --role admin --ttl 12h)
NOTE_KEY=$("$BIN/disputectl" archive key --key "$VAR/archive-key/checkpoint.pem" --region "$REGION")
GRPCURL=grpcurl
command -v grpcurl >/dev/null 2>&1 || GRPCURL="$ROOT/.tools/bin/grpcurl"
GRPCURL="$GRPCURL -cacert var/certs/ca.pem -cert var/certs/client.pem -key var/certs/client-key.pem"
CURL="curl -s"
[[ $SCHEME == https ]] && CURL="curl -s --cacert var/certs/ca.pem"
GW=$SCHEME://localhost:8080

cat <<EOT

社会保险费征缴争议联合处置平台 is running.

  Staff console (工作台)  $GW/        (development sign-in: pick a unit and a person)
  OpenAPI                 $GW/openapi.json
  gRPC (mutual TLS)       intake localhost:9101  routing localhost:9102  meeting localhost:9103  archive localhost:9104
                          CA and client certificate in var/certs (ca.pem, client.pem, client-key.pem)
  Admin (metrics/health)  gateway localhost:9200, services localhost:9201-9204  (/metrics /healthz /readyz, plain HTTP)
  Redis                   127.0.0.1:$REDIS_PORT (AOF, appendfsync always; user disputes, password var/secrets/redis-password)
  etcd                    127.0.0.1:$ETCD_PORT (users root and disputes, passwords in var/secrets)
  Sealed log ($REGION)     $GW/tlog/$REGION/checkpoint  (tiles under /tlog/$REGION/tile/; data in $VAR/archive)
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
  $GRPCURL -H "authorization: Bearer \$TOKEN" -d '{"name":"regions/$REGION/disputes/$(date +%Y)-1"}' localhost:9102 disputes.routing.v1.RoutingService/GetTracking
  $BIN/disputectl roster get --token \$ADMIN_TOKEN

Press Ctrl-C to stop.
EOT

# Stop everything when any process exits on its own.
set +e
wait -n "${pids[@]}"
for i in "${!pids[@]}"; do
  if ! kill -0 "${pids[$i]}" 2>/dev/null; then
    echo "${names[$i]} exited; see $VAR/log/${names[$i]}.log" >&2
  fi
done
exit 1

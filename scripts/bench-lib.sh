# Sourced by the bench scripts: a temporary folder for the run ($TMP, kept
# with KEEP=1 or when a server did not come up), the processes started
# (pids) stopped in reverse order on exit, free ports and waiting for a
# server to answer.
TMP=$(mktemp -d -t "${BENCH_NAME:-bench}.XXXXXX")
pids=()
cleanup() {
  trap - EXIT INT TERM
  for ((i=${#pids[@]}-1; i>=0; i--)); do
    kill -TERM "${pids[$i]}" 2>/dev/null || true
    wait "${pids[$i]}" 2>/dev/null || true
  done
  if [[ ${KEEP:-} == 1 ]]; then echo "kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# free_port sets the named variable to a TCP port nobody listens on, below
# the kernel's ephemeral range (so no outgoing connection holds it) and not
# handed out before in this run.
picked=" "
free_port() { # variable-name
  local p
  while :; do
    p=$((20000 + RANDOM % 12000))
    [[ $picked == *" $p "* ]] && continue
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      picked+="$p "
      printf -v "$1" '%s' "$p"
      return
    fi
  done
}

# wait_for runs the command until it succeeds (30 s at most), giving up
# early when the process started last has exited.
wait_for() { # what command...
  local what=$1
  shift
  for _ in $(seq 1 300); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    if [[ ${#pids[@]} -gt 0 ]] && ! kill -0 "${pids[-1]}" 2>/dev/null; then break; fi # it exited
    sleep 0.1
  done
  echo "$what did not come up; logs in $TMP" >&2
  KEEP=1
  exit 1
}

# start_redis starts a redis-server on REDIS_PORT with its data under
# $TMP/redis, as make run starts it (appendonly, appendfsync always), with
# any further arguments, sets REDIS_PID and waits until it answers.
start_redis() { # extra redis-server arguments...
  mkdir -p "$TMP/redis"
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$TMP/redis" \
    --appendonly yes --appendfsync always --save "" --protected-mode yes "$@" >"$TMP/redis.log" 2>&1 &
  REDIS_PID=$!
  pids+=($REDIS_PID)
  wait_for redis redis-cli -p "$REDIS_PORT" ping
}

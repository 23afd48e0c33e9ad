# Shared by scripts/run.sh and scripts/run-cluster.sh (sourced, not run):
# starting processes with their logs, waiting for them, and the secrets.
# The caller sets VAR and keeps the arrays pids and names.

# start runs cmd in the background with its output appended to logfile and
# keeps its pid and name for stop_all and the report of a death.
start() { # name logfile cmd...
  local name=$1 log=$2
  shift 2
  "$@" >>"$log" 2>&1 &
  pids+=($!)
  names+=("$name")
}

# wait_for retries command every 0.1 s, WAIT_TENTHS times (default 100),
# and stops the script when it never succeeds.
wait_for() { # what command...
  local what=$1
  shift
  for _ in $(seq 1 "${WAIT_TENTHS:-100}"); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  echo "$what did not come up; see $VAR/log" >&2
  exit 1
}

# secret makes file once: a random password readable by us only.
secret() { # file
  [[ -s $1 ]] || (umask 077 && head -c 24 /dev/urandom | base64 | tr -d '/+=' >"$1")
}

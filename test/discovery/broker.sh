# shellcheck shell=bash
# A private mosquitto on a free 127.0.0.1 port, for the discovery scripts
# (bash). Source it; set `work` (a scratch directory) first.
#   start_broker  stops the one running, starts a fresh one; sets port and
#                 broker_pid (exits 1 when it does not come up)
#   stop PID      SIGTERM, then reaps it

stop() {
  local pid=$1
  [ -n "$pid" ] || return 0
  kill "$pid" 2>/dev/null || return 0
  wait "$pid" 2>/dev/null || true
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start_broker() {
  stop "${broker_pid:-}"
  port=$(free_port)
  printf 'listener %s 127.0.0.1\nallow_anonymous true\nuser root\n' "$port" >"$work/mosquitto.conf"
  /usr/sbin/mosquitto -c "$work/mosquitto.conf" >"$work/mosquitto.log" 2>&1 &
  broker_pid=$!
  # Bounded wait for the listener: mosquitto has no readiness signal.
  for _ in $(seq 100); do
    mosquitto_pub -h 127.0.0.1 -p "$port" -t sr-check/ping -n 2>/dev/null && return 0
    kill -0 "$broker_pid" 2>/dev/null || break
    sleep 0.05
  done
  cat "$work/mosquitto.log"
  echo "mosquitto did not start on port $port"
  exit 1
}

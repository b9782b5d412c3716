#!/usr/bin/env bash
# Debian's Prometheus on loopback, scraping the local system and load generator.
#
#   scripts/prometheus.sh start     install if absent, check the config, start, wait until ready
#   scripts/prometheus.sh stop      stop the instance this script started (by its recorded PID)
#   scripts/prometheus.sh status    running or not, and where
#
# Environment:
#   WA_PROM_DIR     run directory (default ${TMPDIR:-/tmp}/wa-prometheus): config, rules,
#                   targets/<job>/*.json (file_sd), the TSDB (a fresh temp dir per start),
#                   prometheus.pid, prometheus.log
#   WA_PROM_PORT    listen port on 127.0.0.1 (default 9090)
#   WA_PROM_CONFIG  the config to run (default prometheus/prometheus.yml); rule_files and
#                   file_sd paths in it resolve against WA_PROM_DIR, where rules/ and
#                   targets/ are copied
#   WA_PROM_REMOTE_WRITE=1  also accept remote writes on /api/v1/write (the load
#                   generator's --remote-write output; off by default: it lets
#                   anyone who reaches the port write series)
#
# Explicit flags always: without them Debian's prometheus writes to
# /var/lib/prometheus and listens on every interface.
# Processes on ephemeral ports are found through file_sd: run the system with
# WA_PROM_SD_DIR=$WA_PROM_DIR/targets (printed by `start`) and the launcher
# writes their target files.
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
dir="${WA_PROM_DIR:-${TMPDIR:-/tmp}/wa-prometheus}"
port="${WA_PROM_PORT:-9090}"
config="${WA_PROM_CONFIG:-$repo/prometheus/prometheus.yml}"
pidfile="$dir/prometheus.pid"
READY_TIMEOUT_S=30
STOP_TIMEOUT_S=10

die() { echo "prometheus.sh: $*" >&2; exit 1; }

# The recorded PID, only if that process is still our prometheus (PIDs get reused).
running_pid() {
  [ -f "$pidfile" ] || return 1
  local pid
  pid="$(cat "$pidfile")"
  [ -n "$pid" ] && [ -r "/proc/$pid/comm" ] && [ "$(cat "/proc/$pid/comm")" = "prometheus" ] || return 1
  echo "$pid"
}

install_if_absent() {
  if ! command -v prometheus >/dev/null || ! command -v promtool >/dev/null; then
    echo "prometheus.sh: installing Debian's prometheus with apt-get"
    apt-get install -y -qq prometheus >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq prometheus >/dev/null; }
  fi
  # The package's service must not run on its own (it would use /var/lib/prometheus and all interfaces).
  if command -v systemctl >/dev/null && systemctl is-active --quiet prometheus 2>/dev/null; then
    echo "prometheus.sh: note: the system prometheus service is active; this instance runs separately on 127.0.0.1:$port" >&2
  fi
}

cmd_start() {
  if pid="$(running_pid)"; then
    die "already running (pid $pid, $dir); stop it first"
  fi
  install_if_absent
  [ -f "$config" ] || die "no config at $config"
  mkdir -p "$dir/targets/wa-gateway" "$dir/targets/wa-chat" "$dir/targets/wa-loadgen"
  cp "$config" "$dir/prometheus.yml"
  rm -rf "$dir/rules"
  cp -r "$repo/prometheus/rules" "$dir/rules"
  for job in wa-gateway wa-chat wa-loadgen; do
    cp "$repo/prometheus/targets/$job/default.json" "$dir/targets/$job/default.json"
  done
  promtool check config "$dir/prometheus.yml" >/dev/null || die "promtool check config $dir/prometheus.yml failed"
  local data remote_write_flag=""
  [ "${WA_PROM_REMOTE_WRITE:-0}" = "1" ] && remote_write_flag="--web.enable-remote-write-receiver"
  data="$(mktemp -d "$dir/tsdb.XXXXXX")"
  # A simple command in the background: $! is the prometheus process itself (checked via /proc below).
  prometheus \
    --config.file="$dir/prometheus.yml" \
    --storage.tsdb.path="$data" \
    --storage.tsdb.retention.time=1d \
    --web.listen-address="127.0.0.1:$port" \
    --web.enable-lifecycle \
    ${remote_write_flag} \
    >"$dir/prometheus.log" 2>&1 </dev/null &
  local pid=$!
  echo "$pid" >"$pidfile"
  echo "$data" >"$dir/tsdb.path"
  echo "$port" >"$dir/port"
  [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "prometheus" ] || { sleep 0.2; [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "prometheus" ]; } \
    || die "pid $pid is not prometheus; log: $dir/prometheus.log"
  local waited=0
  until curl -fsS "http://127.0.0.1:$port/-/ready" >/dev/null 2>&1; do
    if ! kill -0 "$pid" 2>/dev/null; then
      tail -20 "$dir/prometheus.log" >&2
      rm -f "$pidfile"
      die "prometheus exited during start-up"
    fi
    sleep 0.2
    waited=$((waited + 1))
    [ "$waited" -lt $((READY_TIMEOUT_S * 5)) ] || die "not ready after ${READY_TIMEOUT_S}s; log: $dir/prometheus.log"
  done
  echo "prometheus: http://127.0.0.1:$port (pid $pid, tsdb $data, log $dir/prometheus.log)"
  echo "file_sd targets: export WA_PROM_SD_DIR=$dir/targets"
}

cmd_stop() {
  local pid
  if ! pid="$(running_pid)"; then
    echo "prometheus.sh: not running ($dir)"
    rm -f "$pidfile"
    return 0
  fi
  kill -TERM "$pid"
  local waited=0
  while kill -0 "$pid" 2>/dev/null; do
    sleep 0.1
    waited=$((waited + 1))
    if [ "$waited" -ge $((STOP_TIMEOUT_S * 10)) ]; then
      echo "prometheus.sh: pid $pid did not stop in ${STOP_TIMEOUT_S}s: SIGKILL" >&2
      kill -KILL "$pid" 2>/dev/null || true
      break
    fi
  done
  rm -f "$pidfile"
  if [ -f "$dir/tsdb.path" ]; then
    rm -rf "$(cat "$dir/tsdb.path")"
    rm -f "$dir/tsdb.path"
  fi
  echo "prometheus: stopped (pid $pid)"
}

cmd_status() {
  local pid
  if pid="$(running_pid)"; then
    echo "prometheus: running, pid $pid, http://127.0.0.1:$(cat "$dir/port" 2>/dev/null || echo "$port"), dir $dir"
  else
    echo "prometheus: not running ($dir)"
    return 3
  fi
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  *) echo "usage: scripts/prometheus.sh start|stop|status" >&2; exit 2 ;;
esac

#!/usr/bin/env bash
# InfluxDB 1.6.7 from Debian's `influxdb` package, run as our own `influxd -config` process
# (not the system service). HTTP on 127.0.0.1:8086, RPC (backup/restore) on 127.0.0.1:8088;
# meta, data and WAL under $STACK_DIR/influxdb. Ready = /ping answers 204, then the
# `metering` database is created through /query and listed by SHOW DATABASES.
PART=influxdb
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

INFLUX_DIR="$STACK_DIR/influxdb"
INFLUX_CONF="$INFLUX_DIR/influxdb.conf"
INFLUX_PORT="${INFLUX_PORT:-8086}"
INFLUX_RPC_PORT="${INFLUX_RPC_PORT:-8088}"
INFLUX_DB="${INFLUX_DB:-metering}"
INFLUX_URL="http://127.0.0.1:$INFLUX_PORT"
# The Debian package's init script uses this pid file and config; used to recognise its daemon.
SYSTEM_INFLUX_CONF=/etc/influxdb/influxdb.conf

part_install() {
  command -v influxd >/dev/null || apt_ensure influxdb || return 1
  command -v curl >/dev/null || apt_ensure curl || return 1
  command -v ss >/dev/null || apt_ensure iproute2 || return 1
}

write_config() {
  mkdir -p "$INFLUX_DIR/meta" "$INFLUX_DIR/data" "$INFLUX_DIR/wal"
  # Debian's 1.6.7 build replaced upstream's `reporting-disabled = true` with
  # `reporting-enabled = false` (unknown keys are silently ignored, so the spelling matters).
  cat >"$INFLUX_CONF" <<CONF
reporting-enabled = false
bind-address = "127.0.0.1:$INFLUX_RPC_PORT"

[meta]
  dir = "$INFLUX_DIR/meta"
  retention-autocreate = true
  logging-enabled = true

[data]
  dir = "$INFLUX_DIR/data"
  wal-dir = "$INFLUX_DIR/wal"
  index-version = "inmem"
  query-log-enabled = true

[monitor]
  store-enabled = true

[http]
  enabled = true
  bind-address = "127.0.0.1:$INFLUX_PORT"
  auth-enabled = false
  log-enabled = true
  # The raters write continuously; one access-log line per write would drown the log.
  suppress-write-log = true
  pprof-enabled = false
  unix-socket-enabled = false

[logging]
  format = "logfmt"
  level = "info"
  suppress-logo = true

[[graphite]]
  enabled = false
[[collectd]]
  enabled = false
[[opentsdb]]
  enabled = false
[[udp]]
  enabled = false
CONF
}

# PID of the process listening on TCP port $1 (any address), empty when none. lib.sh has no such helper.
listener_pid() {
  ss -Hltnp "sport = :$1" 2>/dev/null | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2
}

# Frees the ports when the holder is the Debian system service (and keeps it from coming back
# at boot); adopts a leftover influxd of ours whose pid file was lost; fails on anything else.
claim_ports() {
  local port pid cmd
  for port in "$INFLUX_PORT" "$INFLUX_RPC_PORT"; do
    pid="$(listener_pid "$port")"
    [ -n "$pid" ] || continue
    cmd="$(tr '\0\n' '  ' <"/proc/$pid/cmdline" 2>/dev/null | cut -c1-100 || true)"
    if [[ "$cmd" == *"$INFLUX_CONF"* ]]; then
      log "adopting our influxd (pid $pid) found without a pid file"
      echo "$pid" >"$RUN_DIR/influxdb.pid"
      return 0
    elif [[ "$cmd" == *influxd* && "$cmd" != *"$SYSTEM_INFLUX_CONF"* ]] && ready; then
      # Another checkout's stack (or a developer's own influxd) already serves this port.
      log "an influxd not started here (pid $pid) already serves 127.0.0.1:$INFLUX_PORT; using it"
      REUSED_FOREIGN=1
      return 0
    elif [[ "$cmd" == *influxd* && "$cmd" == *"$SYSTEM_INFLUX_CONF"* ]]; then
      log "the system influxdb service holds port $port: stopping and disabling it"
      stop_system_service || return 1
    else
      fail "port $port is taken by another process (pid $pid: ${cmd:-unknown}); free it, or set INFLUX_PORT / INFLUX_RPC_PORT"
      return 1
    fi
  done
}

stop_system_service() {
  if [ -d /run/systemd/system ]; then
    as_root systemctl disable --now influxdb >/dev/null 2>&1 || true
  else
    as_root /etc/init.d/influxdb stop >/dev/null 2>&1 || true
    as_root update-rc.d influxdb disable >/dev/null 2>&1 || true
  fi
  wait_until 15 "system influxd gone" sh -c "! ss -Hltn 'sport = :$INFLUX_PORT' | grep -q . && ! ss -Hltn 'sport = :$INFLUX_RPC_PORT' | grep -q ." ||
    fail "could not stop the system influxdb service (try: service influxdb stop; update-rc.d influxdb disable)"
}

influx_query() {
  curl -sS --max-time 5 -X POST "$INFLUX_URL/query" --data-urlencode "q=$1"
}

ready() {
  [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$INFLUX_URL/ping")" = 204 ] || return 1
  # /query answers 200 even when a statement fails; the error is inside the JSON.
  local out
  out="$(influx_query "CREATE DATABASE \"$INFLUX_DB\"")" || return 1
  [[ "$out" == *'"statement_id":0'* && "$out" != *'"error"'* ]] || return 1
  influx_query "SHOW DATABASES" | grep -q "\[\"$INFLUX_DB\"\]"
}

part_start() {
  if pid_alive influxdb && ready; then log "already running on 127.0.0.1:$INFLUX_PORT"; return 0; fi
  if ! pid_alive influxdb; then
    REUSED_FOREIGN=0
    claim_ports || return 1
    [ "$REUSED_FOREIGN" = 1 ] && return 0
  fi
  if ! pid_alive influxdb; then
    write_config
    log "starting influxd (log: $LOG_DIR/influxdb.log)"
    # influxd writes its log to stderr; many shards want many open files.
    (
      ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
      exec nohup influxd -config "$INFLUX_CONF" >>"$LOG_DIR/influxdb.log" 2>&1
    ) &
    echo $! >"$RUN_DIR/influxdb.pid"
  fi
  if ! wait_until "$READY_TIMEOUT" "influxdb ready" ready; then
    fail "no /ping 204 and '$INFLUX_DB' database within ${READY_TIMEOUT}s (see $LOG_DIR/influxdb.log)"
    return 1
  fi
  log "ready: $INFLUX_URL (database $INFLUX_DB)"
}

part_status() {
  if pid_alive influxdb && ready; then echo "influxdb: up $INFLUX_URL"; else echo "influxdb: down"; return 1; fi
}

part_stop() {
  stop_pid influxdb 30
  log "stopped"
}

dispatch "$@"

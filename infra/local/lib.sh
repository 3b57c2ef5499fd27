#!/usr/bin/env bash
# Shared helpers for the local infrastructure scripts. Sourced, not run.
# Every part keeps its state (data, logs, pid files) under $STACK_DIR, one ignored folder.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
STACK_DIR="${STACK_DIR:-$REPO_ROOT/.stack}"
LOG_DIR="$STACK_DIR/logs"
RUN_DIR="$STACK_DIR/run"
mkdir -p "$LOG_DIR" "$RUN_DIR"

# Seconds each part may take to become ready before it is reported as failed.
READY_TIMEOUT="${READY_TIMEOUT:-90}"

log() { printf '[%s] %s\n' "${PART:-stack}" "$*" >&2; }

# One clear line naming the part, what failed and the fix; returns non-zero.
fail() {
  printf '[%s] FAILED: %s\n' "${PART:-stack}" "$*" >&2
  return 1
}

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    fail "needs root for: $* (run as root or install sudo)"
  fi
}

APT_UPDATED_MARK="$STACK_DIR/.apt-updated"
# Installs Debian packages that are missing; runs `apt-get update` at most once per stack folder.
apt_ensure() {
  local missing=()
  local p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing Debian packages: ${missing[*]}"
  if [ ! -f "$APT_UPDATED_MARK" ]; then
    as_root apt-get -o DPkg::Lock::Timeout=600 update -q >"$LOG_DIR/apt.log" 2>&1 || fail "apt-get update failed (see $LOG_DIR/apt.log)" || return 1
    touch "$APT_UPDATED_MARK"
  fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "${missing[@]}" \
    >>"$LOG_DIR/apt.log" 2>&1 || fail "apt-get install ${missing[*]} failed (see $LOG_DIR/apt.log)"
}

# Is something listening on 127.0.0.1:$1?
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# pid_alive NAME: the process recorded in $RUN_DIR/NAME.pid is running.
pid_alive() {
  local f="$RUN_DIR/$1.pid"
  [ -f "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null
}

# wait_until SECONDS DESCRIPTION CMD...: polls CMD every half second.
wait_until() {
  local timeout="$1" what="$2"
  shift 2
  local deadline=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      return 1
    fi
    sleep 0.5
  done
}

# stop_pid NAME [SECONDS]: TERM, wait, then KILL the recorded process.
stop_pid() {
  local name="$1" grace="${2:-20}" f="$RUN_DIR/$1.pid" pid
  [ -f "$f" ] || return 0
  pid="$(cat "$f")"
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    local deadline=$((SECONDS + grace))
    while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.3; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$f"
}

# Run the action named on the command line: each part script defines part_install,
# part_start, part_status, part_stop and calls `dispatch "$@"` at its end.
dispatch() {
  local action="${1:-start}"
  case "$action" in
    install) part_install ;;
    start) part_install && part_start ;;
    status) part_status ;;
    stop) part_stop ;;
    *) fail "unknown action '$action' (install|start|status|stop)" ;;
  esac
}

#!/usr/bin/env bash
# The local stack: the real infrastructure and every service, on 127.0.0.1.
#   stack.sh up [--infra]   install what is missing, start everything, wait for readiness, print URLs
#   stack.sh down           stop what `up` started (PostgreSQL, a machine service, stays up)
#   stack.sh status         one line per part
# A part that cannot start prints one line naming it and the fix; the other parts still start,
# and the exit status is non-zero.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
HERE="$REPO_ROOT/infra/local"

# Order matters only for `install` (apt takes one lock) and for `down` (reverse).
INFRA_PARTS=(postgres kafka influxdb docker libvirt prometheus)

part_script() { echo "$HERE/$1.sh"; }

infra_up() {
  local p failed=()
  # Installs run one after another: apt and dpkg hold a single lock.
  for p in "${INFRA_PARTS[@]}"; do
    bash "$(part_script "$p")" install || failed+=("$p")
  done
  # Starts run in parallel; each waits for its own readiness.
  local pids=() names=()
  for p in "${INFRA_PARTS[@]}"; do
    [[ " ${failed[*]-} " == *" $p "* ]] && continue
    bash "$(part_script "$p")" start &
    pids+=($!)
    names+=("$p")
  done
  local i
  for i in "${!pids[@]}"; do
    wait "${pids[$i]}" || failed+=("${names[$i]}")
  done
  FAILED_PARTS=("${failed[@]+"${failed[@]}"}")
}

services_up() {
  # Services join here as they land (see services/*/README.md).
  if [ -x "$HERE/services.sh" ]; then
    bash "$HERE/services.sh" start || FAILED_PARTS+=(services)
  fi
}

print_urls() {
  cat <<TXT

Local stack (all on loopback):
  Kafka        127.0.0.1:9092  (plaintext, anonymous super user: tests and tooling on this machine)
  PostgreSQL   postgres://postgres@127.0.0.1:5432/metering  (the services: metering_app, password in $STACK_DIR/secrets/postgres-app.password)
  InfluxDB     http://127.0.0.1:8086  (database metering, InfluxQL at /query)
  Prometheus   http://127.0.0.1:9090  (scrapes every service's /metrics every 5 s)
  Docker       unix:///var/run/docker.sock  (test image local/busybox:1)
  libvirt      qemu:///system
TXT
  bash "$HERE/kafka.sh" connect-info
  if [ -x "$HERE/services.sh" ]; then bash "$HERE/services.sh" urls; fi
  if [ -f "$STACK_DIR/admin-api-key" ]; then
    echo "  Admin key    $STACK_DIR/admin-api-key  (billing API: Authorization: Bearer \$(cat that file))"
  fi
  cat <<TXT
  Logs         $LOG_DIR
  Stop with    npm run stack:stop
TXT
}

cmd_up() {
  FAILED_PARTS=()
  bash "$HERE/deps.sh" install || return 1
  infra_up
  [ "${1-}" = "--infra" ] || services_up
  print_urls
  if [ ${#FAILED_PARTS[@]} -gt 0 ]; then
    echo "Not started: ${FAILED_PARTS[*]} (the line starting [part] FAILED above says why)" >&2
    return 1
  fi
}

cmd_down() {
  if [ -x "$HERE/services.sh" ]; then bash "$HERE/services.sh" stop || true; fi
  local i
  for ((i = ${#INFRA_PARTS[@]} - 1; i >= 0; i--)); do
    bash "$(part_script "${INFRA_PARTS[$i]}")" stop || true
  done
}

cmd_status() {
  local p rc=0
  for p in "${INFRA_PARTS[@]}"; do bash "$(part_script "$p")" status || rc=1; done
  if [ -x "$HERE/services.sh" ]; then bash "$HERE/services.sh" status || rc=1; fi
  return $rc
}

case "${1:-up}" in
  up) shift || true; cmd_up "$@" ;;
  down | stop) cmd_down ;;
  status) cmd_status ;;
  *) echo "usage: stack.sh up [--infra] | down | status" >&2; exit 2 ;;
esac

#!/usr/bin/env bash
# PostgreSQL on 127.0.0.1:5432 with the database `metering`.
# These machines run a Debian cluster already (trust auth for `postgres` on loopback); this script
# only starts it when stopped, installs Debian's package when there is none, and creates the database.
PART=postgres
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PG_PORT="${PG_PORT:-5432}"
PG_DB="${PG_DB:-metering}"
PSQL=(psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -v ON_ERROR_STOP=1 -qAt)

part_install() {
  if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
    apt_ensure postgresql || return 1
  fi
  command -v psql >/dev/null || apt_ensure postgresql-client
}

ready() { "${PSQL[@]}" -d postgres -c 'select 1' >/dev/null 2>&1; }

part_start() {
  if ! ready; then
    local version
    version="$(ls /etc/postgresql | sort -V | tail -1)"
    log "starting cluster $version/main"
    as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start >"$LOG_DIR/postgres-start.log" 2>&1 || true
    if ! wait_until "$READY_TIMEOUT" "postgres" ready; then
      if port_open "$PG_PORT"; then
        fail "127.0.0.1:$PG_PORT answers but not as PostgreSQL with trust auth for user postgres (see $LOG_DIR/postgres-start.log and /var/log/postgresql/)"
      else
        fail "the cluster did not start (see $LOG_DIR/postgres-start.log and /var/log/postgresql/)"
      fi
      return 1
    fi
  fi
  if [ "$("${PSQL[@]}" -d postgres -c "select 1 from pg_database where datname = '$PG_DB'")" != 1 ]; then
    "${PSQL[@]}" -d postgres -c "create database $PG_DB" || fail "could not create database $PG_DB" || return 1
  fi
  log "ready: postgres://postgres@127.0.0.1:$PG_PORT/$PG_DB"
}

part_status() {
  if ready; then echo "postgres: up 127.0.0.1:$PG_PORT/$PG_DB"; else echo "postgres: down"; return 1; fi
}

# The cluster belongs to the machine, not to this project: stopping the stack leaves it running.
part_stop() { log "left running (machine service); stop it with pg_ctlcluster if you must"; }

dispatch "$@"

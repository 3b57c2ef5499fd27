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
  ensure_app_role || return 1
  log "ready: postgres://postgres@127.0.0.1:$PG_PORT/$PG_DB (services: $APP_ROLE, password in $APP_PASSWORD_FILE)"
}

# The role the services connect as (docs/operations.md, "Database roles"): it owns nothing, so it
# cannot disable the triggers that keep final invoices immutable. Its password is generated once
# into the stack folder (never the repository); `ledger-migrate` (services.sh) grants it the
# ledger's tables as the owner. Trust auth on loopback ignores the password here; a cluster with
# scram auth uses it.
APP_ROLE="${PG_APP_ROLE:-metering_app}"
APP_PASSWORD_FILE="$STACK_DIR/secrets/postgres-app.password"

ensure_app_role() {
  mkdir -p "$STACK_DIR/secrets" && chmod 700 "$STACK_DIR/secrets"
  if [ ! -s "$APP_PASSWORD_FILE" ]; then
    (umask 077 && od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$APP_PASSWORD_FILE.tmp" &&
      mv "$APP_PASSWORD_FILE.tmp" "$APP_PASSWORD_FILE") || fail "could not write $APP_PASSWORD_FILE" || return 1
  fi
  # The password goes in on stdin (psql reads the file itself), never on a command line.
  "${PSQL[@]}" -d postgres -v role="$APP_ROLE" <<SQL ||
\\set pw \`cat '$APP_PASSWORD_FILE'\`
SELECT format(CASE WHEN EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'role')
                   THEN 'ALTER ROLE %I LOGIN PASSWORD %L NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS'
                   ELSE 'CREATE ROLE %I LOGIN PASSWORD %L NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS' END,
              :'role', :'pw') \\gexec
SQL
    fail "could not create or update role $APP_ROLE" || return 1
}

part_status() {
  if ready; then echo "postgres: up 127.0.0.1:$PG_PORT/$PG_DB"; else echo "postgres: down"; return 1; fi
}

# The cluster belongs to the machine, not to this project: stopping the stack leaves it running.
part_stop() { log "left running (machine service); stop it with pg_ctlcluster if you must"; }

dispatch "$@"

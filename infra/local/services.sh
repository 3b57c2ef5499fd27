#!/usr/bin/env bash
# The product's own services in the local stack. Each service that can run declares itself in
# services/<name>/stack.env:
#   PORT=9101                      # its HTTP port (/healthz, /metrics) on 127.0.0.1
#   ENTRY=dist/src/main.js         # what node runs, relative to the service folder
#   ORDER=20                       # start order (lower first)
#   plus any settings it needs (exported to the process as they are).
#   services.sh start|stop|status|urls
PART=services
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

service_dirs() {
  local f
  for f in "$REPO_ROOT"/services/*/stack.env; do
    [ -f "$f" ] || continue
    printf '%s %s\n' "$(. "$f"; echo "${ORDER:-50}")" "$(dirname "$f")"
  done | sort -n | cut -d' ' -f2
}

svc_env() { (set -a; . "$1/stack.env"; set +a; eval "echo \${$2-}"); }

healthy() { curl -fsS -m 2 "http://127.0.0.1:$1/healthz" >/dev/null 2>&1; }

# Per-host sample keys (docs/adr/0010-host-identity.md), made once: rating's master key and the
# key of this host (the name its collectors report: os.hostname()). stack.env files name them.
ensure_host_keys() {
  local dir="$STACK_DIR/secrets" host
  mkdir -p "$dir" && chmod 700 "$dir"
  if [ ! -s "$dir/host-auth-masters" ]; then
    (umask 077 && node -e 'console.log("local-1 " + require("crypto").randomBytes(32).toString("hex"))' \
      >"$dir/host-auth-masters.tmp" && mv "$dir/host-auth-masters.tmp" "$dir/host-auth-masters") || return 1
    rm -f "$dir/host-auth.key"
  fi
  if [ ! -s "$dir/host-auth.key" ]; then
    host="$(node -p 'require("os").hostname()')"
    (umask 077 && HOST_AUTH_KEYS_FILE="$dir/host-auth-masters" \
      node "$REPO_ROOT/services/rating/dist/src/cli/rating.cli.js" host-key "$host" >"$dir/host-auth.key.tmp" &&
      mv "$dir/host-auth.key.tmp" "$dir/host-auth.key") || return 1
  fi
}

# The ledger's migrations as the owner (the only step that holds its credentials), granting the
# services' role (infra/local/postgres.sh made it); the services start with MIGRATE_ON_START=false.
migrate_ledger() {
  local password
  password="$(cat "$STACK_DIR/secrets/postgres-app.password" 2>/dev/null)" ||
    { fail "no $STACK_DIR/secrets/postgres-app.password: start postgres first (stack.sh up)"; return 1; }
  DATABASE_MIGRATION_URL="postgres://postgres@127.0.0.1:${PG_PORT:-5432}/metering" \
    DATABASE_URL="postgres://metering_app:$password@127.0.0.1:${PG_PORT:-5432}/metering" \
    node "$REPO_ROOT/libs/ledger/dist/src/migrate.main.js" >>"$LOG_DIR/ledger-migrate.log" 2>&1 ||
    { fail "the ledger migrations failed (see $LOG_DIR/ledger-migrate.log)"; return 1; }
}

part_start() {
  local dir name port entry rc=0
  (cd "$REPO_ROOT" && npx tsc -b tsconfig.build.json) >"$LOG_DIR/build.log" 2>&1 ||
    { fail "the TypeScript build failed (see $LOG_DIR/build.log)"; return 1; }
  # The tenant portal's web app (Vite), which billing-api serves under /portal/: built first.
  (cd "$REPO_ROOT" && npm run --silent build -w @metering/portal) >>"$LOG_DIR/build.log" 2>&1 ||
    { fail "the portal's build failed (see $LOG_DIR/build.log)"; return 1; }
  ensure_host_keys || { fail "could not make the per-host sample keys in $STACK_DIR/secrets"; return 1; }
  migrate_ledger || return 1
  for dir in $(service_dirs); do
    name="$(basename "$dir")"
    port="$(svc_env "$dir" PORT)"
    entry="$(svc_env "$dir" ENTRY)"
    if pid_alive "$name" && healthy "$port"; then log "$name already running on 127.0.0.1:$port"; continue; fi
    if ! pid_alive "$name" && port_open "$port"; then
      fail "$name: port 127.0.0.1:$port is taken by another process"; rc=1; continue
    fi
    if ! pid_alive "$name"; then
      log "starting $name (log: $LOG_DIR/$name.log)"
      (set -a; . "$dir/stack.env"; set +a; cd "$dir" && exec nohup node --enable-source-maps "$entry") \
        >>"$LOG_DIR/$name.log" 2>&1 &
      echo $! >"$RUN_DIR/$name.pid"
    fi
    if ! wait_until "$READY_TIMEOUT" "$name" healthy "$port"; then
      fail "$name is not healthy on 127.0.0.1:$port/healthz within ${READY_TIMEOUT}s (see $LOG_DIR/$name.log)"
      rc=1
    else
      log "$name ready on 127.0.0.1:$port"
    fi
  done
  return $rc
}

part_stop() {
  local dir
  for dir in $(service_dirs | tac); do stop_pid "$(basename "$dir")" 20; done
}

part_status() {
  local dir name port rc=0
  for dir in $(service_dirs); do
    name="$(basename "$dir")"
    port="$(svc_env "$dir" PORT)"
    if pid_alive "$name" && healthy "$port"; then echo "$name: up 127.0.0.1:$port"; else echo "$name: down"; rc=1; fi
  done
  return $rc
}

part_urls() {
  local dir name port
  for dir in $(service_dirs); do
    name="$(basename "$dir")"
    port="$(svc_env "$dir" PORT)"
    if healthy "$port"; then
      printf '  %-12s http://127.0.0.1:%s  (/healthz, /metrics%s)\n' "$name" "$port" "$(svc_env "$dir" URL_NOTE)"
    else
      printf '  %-12s not running (npm run stack starts it on 127.0.0.1:%s)\n' "$name" "$port"
    fi
  done
  # The tenant portal: billing-api serves it (services/portal/README.md).
  port="$(svc_env "$REPO_ROOT/services/billing-api" PORT)"
  if healthy "$port"; then
    printf '  %-12s http://127.0.0.1:%s/portal/  (sign in with a tenant API key)\n' portal "$port"
  else
    printf '  %-12s not running (billing-api serves it at 127.0.0.1:%s/portal/)\n' portal "$port"
  fi
}

part_install() { :; }

case "${1:-start}" in
  urls) part_urls ;;
  *) dispatch "$@" ;;
esac

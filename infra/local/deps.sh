#!/usr/bin/env bash
# Build prerequisites and npm packages. Debian packages first (the libvirt binding compiles
# against libvirt-dev), then `npm ci` whenever package-lock.json changed since the last install.
PART=deps
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

STAMP="$STACK_DIR/.npm-ci.sha256"

part_install() {
  command -v node >/dev/null || fail "Node.js 20 is missing (apt-get install nodejs npm)" || return 1
  local major
  major="$(node -p 'process.versions.node.split(".")[0]')"
  [ "$major" -ge 20 ] || fail "Node.js $major is too old: need 20 or newer" || return 1
  # fonts-wqy-microhei: the Unicode font billing-api embeds in PDFs (Latin, Greek, Cyrillic, CJK).
  apt_ensure libvirt-dev pkg-config g++ make python3 curl poppler-utils fonts-wqy-microhei || return 1
  # docker-compose (Debian 1.29): infra/deploy validates docker-compose.yml with it.
  apt_ensure docker-compose || return 1
  # chromium: the tenant portal's browser tests (e2e/test/portal-browser-*.int.spec.ts) drive Debian's
  # build through playwright-core; nothing downloads a browser (PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD below).
  apt_ensure chromium || return 1
  local want
  want="$(sha256sum "$REPO_ROOT/package-lock.json" | cut -d' ' -f1)"
  if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ] && [ -d "$REPO_ROOT/node_modules" ]; then return 0; fi
  # A fresh checkout gets exactly the lockfile (npm ci); a working tree keeps its node_modules
  # and is only brought in line with the lockfile (npm install), without a wipe.
  export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
  local cmd=(npm ci --no-audit --no-fund)
  [ -d "$REPO_ROOT/node_modules" ] && cmd=(npm install --no-audit --no-fund)
  log "${cmd[*]} (log: $LOG_DIR/npm-install.log)"
  (cd "$REPO_ROOT" && "${cmd[@]}") >"$LOG_DIR/npm-install.log" 2>&1 ||
    fail "${cmd[*]} failed (see $LOG_DIR/npm-install.log)" || return 1
  echo "$want" >"$STAMP"
}

part_start() { :; }
part_status() { [ -f "$STAMP" ] && echo "deps: installed" || { echo "deps: not installed"; return 1; }; }
part_stop() { :; }

dispatch "$@"

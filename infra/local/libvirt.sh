#!/usr/bin/env bash
# libvirtd + virtlogd with the QEMU/KVM driver, from Debian packages, reachable as qemu:///system
# through the unix socket /run/libvirt/libvirt-sock only (no TCP listener, no libvirt network:
# test domains have no interface). A libvirtd that already answers is reused as it is.
#   libvirt.sh install|start|status|stop
#   libvirt.sh domain-xml NAME UUID TENANT   prints the tiny test domain (vm/tiny-domain.xml.tmpl)
PART=libvirt
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

LIBVIRT_URI=qemu:///system
QEMU_CONF=/etc/libvirt/qemu.conf
DOMAIN_TMPL="$REPO_ROOT/infra/local/vm/tiny-domain.xml.tmpl"

part_install() {
  local p pkgs=(libvirt-daemon libvirt-clients libvirt-daemon-driver-qemu qemu-system-x86 qemu-utils libvirt-dev pkg-config)
  for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || {
      apt_ensure "${pkgs[@]}" || return 1
      break
    }
  done
}

# Sets `KEY = "VALUE"` in qemu.conf: replaces an active line for KEY, or appends one.
qemu_conf_set() {
  local key="$1" value="$2"
  if grep -qE "^[[:space:]]*${key}[[:space:]]*=" "$QEMU_CONF"; then
    grep -qxF "$key = \"$value\"" "$QEMU_CONF" ||
      sed -i -E "s|^[[:space:]]*${key}[[:space:]]*=.*|$key = \"$value\"|" "$QEMU_CONF"
  else
    printf '%s = "%s"\n' "$key" "$value" >>"$QEMU_CONF"
  fi
}

# Without systemd/udev nothing creates these; libvirtd refuses to start or to run QEMU otherwise.
prepare_host() {
  as_root mkdir -p /var/log/libvirt /var/lib/libvirt /run/libvirt || return 1
  getent group kvm >/dev/null || as_root groupadd -r kvm || return 1
  id libvirt-qemu >/dev/null 2>&1 || as_root useradd -r -g kvm libvirt-qemu || return 1
  # Debian builds the QEMU driver with libvirt-qemu:libvirt-qemu as defaults and resolves both
  # before qemu.conf is read: without this group it refuses to load ("Failed to parse group").
  getent group libvirt-qemu >/dev/null || as_root groupadd -r libvirt-qemu || return 1
  [ -f "$QEMU_CONF" ] || as_root touch "$QEMU_CONF" || return 1
  # QEMU as root: /dev/kvm is root-only here (no udev rule gives it to group kvm).
  qemu_conf_set user root && qemu_conf_set group root
}

# pid_running PIDFILE: the daemon that wrote PIDFILE is alive.
pid_running() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

ready() { virsh -c "$LIBVIRT_URI" version >/dev/null 2>&1; }

ready_or_dead() { ready || ! pid_alive libvirtd; }

kvm_usable() { virsh -c "$LIBVIRT_URI" domcapabilities --virttype kvm >/dev/null 2>&1; }

check_kvm_device() {
  if [ ! -c /dev/kvm ]; then
    fail "KVM is unavailable: /dev/kvm is missing (enable nested virtualization for this VM, or run on a KVM-capable host with the kvm_intel/kvm_amd module loaded)"
    return 1
  fi
}

part_start() {
  check_kvm_device || return 1
  if ready; then
    log "$(pid_alive libvirtd && echo 'already running' || echo 'reusing the running libvirtd'): $LIBVIRT_URI"
  else
    if pid_running /run/libvirtd.pid; then
      fail "a libvirtd (pid $(cat /run/libvirtd.pid)) is running but '$LIBVIRT_URI' does not answer (stop it: kill $(cat /run/libvirtd.pid))"
      return 1
    fi
    prepare_host || fail "could not prepare /run/libvirt, user libvirt-qemu or $QEMU_CONF (run as root)" || return 1
    # Their logs go to our log folder; per-domain QEMU logs stay in /var/log/libvirt/qemu/.
    if ! pid_running /run/virtlogd.pid; then
      LIBVIRT_LOG_OUTPUTS="3:file:$LOG_DIR/virtlogd.log" virtlogd -d ||
        fail "virtlogd -d failed (see $LOG_DIR/virtlogd.log)" || return 1
      wait_until 10 "virtlogd pid file" pid_running /run/virtlogd.pid || true
      cp /run/virtlogd.pid "$RUN_DIR/virtlogd.pid" 2>/dev/null || true
    fi
    log "starting libvirtd (log: $LOG_DIR/libvirtd.log)"
    LIBVIRT_LOG_OUTPUTS="3:file:$LOG_DIR/libvirtd.log" libvirtd -d ||
      fail "libvirtd -d failed (see $LOG_DIR/libvirtd.log)" || return 1
    wait_until 10 "libvirtd pid file" pid_running /run/libvirtd.pid || true
    cp /run/libvirtd.pid "$RUN_DIR/libvirtd.pid" 2>/dev/null || true
    # libvirtd exits when a driver fails to initialise: stop waiting as soon as it is gone.
    wait_until "$READY_TIMEOUT" "virsh version" ready_or_dead || true
    if ! ready; then
      fail "'virsh -c $LIBVIRT_URI version' does not answer$(pid_alive libvirtd && echo " within ${READY_TIMEOUT}s" || echo '; libvirtd exited') (see $LOG_DIR/libvirtd.log)"
      return 1
    fi
  fi
  if ! kvm_usable; then
    fail "KVM is unavailable to libvirt (virsh domcapabilities --virttype kvm fails; check /dev/kvm and $LOG_DIR/libvirtd.log)"
    return 1
  fi
  log "ready: $LIBVIRT_URI"
}

part_status() {
  if ready; then
    echo "libvirt: up $LIBVIRT_URI$(pid_alive libvirtd || echo ' (not started by us)')"
  else
    echo "libvirt: down"
    return 1
  fi
}

part_stop() {
  # Only daemons we started; running domains (QEMU processes) survive a libvirtd restart.
  if pid_alive libvirtd || pid_alive virtlogd; then
    stop_pid libvirtd 20
    stop_pid virtlogd 10
    log "stopped"
  else
    rm -f "$RUN_DIR/libvirtd.pid" "$RUN_DIR/virtlogd.pid"
    log "no libvirtd started by us; nothing to stop"
  fi
}

# domain-xml NAME UUID TENANT: the template with its placeholders filled in, XML-escaped.
tiny_domain_xml() {
  [ $# -eq 3 ] || fail "usage: libvirt.sh domain-xml NAME UUID TENANT" || return 1
  local name uuid tenant
  name="$(xml_escape "$1")" uuid="$(xml_escape "$2")" tenant="$(xml_escape "$3")"
  sed -e '/^<!--/,/^-->/d' -e "s|{{name}}|$(sed_escape "$name")|" -e "s|{{uuid}}|$(sed_escape "$uuid")|" \
    -e "s|{{tenant}}|$(sed_escape "$tenant")|" "$DOMAIN_TMPL"
}

xml_escape() { printf '%s' "$1" | sed -e 's/&/\&amp;/g' -e 's/</\&lt;/g' -e 's/>/\&gt;/g' -e 's/"/\&quot;/g' -e "s/'/\&apos;/g"; }

sed_escape() { printf '%s' "$1" | sed -e 's/[\\|&]/\\&/g'; }

if [ "${1:-}" = domain-xml ]; then
  shift
  tiny_domain_xml "$@"
  exit
fi
dispatch "$@"

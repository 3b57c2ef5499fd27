#!/usr/bin/env bash
# Docker Engine from Debian's `docker.io`, started by us without any bridge network (the default
# bridge would claim a private address range, which must carry no traffic here), on the default
# socket /var/run/docker.sock that the collectors and tests use. A dockerd that already answers
# `docker info` is reused as it is (and left alone by `stop`). Then imports the test image
# local/busybox:1 from busybox-static, without a registry, and checks that a container runs.
PART=docker
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DOCKER_SOCK=/var/run/docker.sock
DOCKER_HOST_URI="unix://$DOCKER_SOCK"
BUSYBOX_IMAGE="${BUSYBOX_IMAGE:-local/busybox:1}"
BUSYBOX_ROOTFS="$STACK_DIR/docker/busybox-rootfs"
# data-root stays at the default /var/lib/docker on purpose: a dockerd we reuse (system service
# or another checkout's) already uses it, so images imported here are seen by every daemon that
# serves the default socket; and layers kept out of the repo mean root-owned overlay mounts never
# sit inside the working tree, where `rm -rf .stack`, `git clean` or file watchers would hit them.
DOCKER_DATA_ROOT=/var/lib/docker

part_install() {
  command -v dockerd >/dev/null || apt_ensure docker.io || return 1
  [ -x /bin/busybox ] && dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q 'install ok installed' ||
    apt_ensure busybox-static || return 1
}

engine_up() { docker -H "$DOCKER_HOST_URI" info >/dev/null 2>&1; }

# PID of a dockerd serving the default socket that we did not start (from its own pid file).
foreign_dockerd_pid() {
  local pid
  pid="$(cat /var/run/docker.pid 2>/dev/null || true)"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

start_engine() {
  if pid_alive docker; then return 0; fi
  if engine_up; then
    log "reusing the dockerd already answering on $DOCKER_SOCK"
    return 0
  fi
  local other
  other="$(foreign_dockerd_pid || true)"
  if [ -n "$other" ]; then
    fail "a dockerd (pid $other) is running but does not answer on $DOCKER_SOCK (stop it: kill $other, or: service docker stop)"
    return 1
  fi
  mkdir -p "$STACK_DIR/docker"
  log "starting dockerd without a bridge (log: $LOG_DIR/docker.log)"
  # --ip6tables=false is accepted by 20.10 (its default; true would need --experimental).
  # No --exec-root/--pidfile: the defaults keep `docker` and the products on the default socket.
  nohup dockerd \
    --host="$DOCKER_HOST_URI" \
    --data-root="$DOCKER_DATA_ROOT" \
    --bridge=none --iptables=false --ip-masq=false --ip6tables=false \
    --userland-proxy=false \
    >>"$LOG_DIR/docker.log" 2>&1 &
  echo $! >"$RUN_DIR/docker.pid"
}

# A rootfs of busybox-static and one symlink per applet; imported only when the image is missing.
ensure_image() {
  docker -H "$DOCKER_HOST_URI" image inspect "$BUSYBOX_IMAGE" >/dev/null 2>&1 && return 0
  log "importing $BUSYBOX_IMAGE from busybox-static"
  rm -rf "$BUSYBOX_ROOTFS"
  mkdir -p "$BUSYBOX_ROOTFS/bin" "$BUSYBOX_ROOTFS/etc" "$BUSYBOX_ROOTFS/root" "$BUSYBOX_ROOTFS/tmp"
  chmod 1777 "$BUSYBOX_ROOTFS/tmp"
  cp /bin/busybox "$BUSYBOX_ROOTFS/bin/busybox"
  local applet
  for applet in $("$BUSYBOX_ROOTFS/bin/busybox" --list); do
    [ "$applet" = busybox ] || ln -sf busybox "$BUSYBOX_ROOTFS/bin/$applet"
  done
  tar -C "$BUSYBOX_ROOTFS" -c . |
    docker -H "$DOCKER_HOST_URI" import --change 'ENV PATH=/bin' --change 'CMD ["sh"]' - "$BUSYBOX_IMAGE" \
      >>"$LOG_DIR/docker.log" 2>&1 ||
    fail "docker import of $BUSYBOX_IMAGE failed (see $LOG_DIR/docker.log)"
}

run_check() {
  [ "$(docker -H "$DOCKER_HOST_URI" run --rm --network none "$BUSYBOX_IMAGE" sh -c 'echo ok' 2>>"$LOG_DIR/docker.log")" = ok ]
}

part_start() {
  start_engine || return 1
  if ! wait_until "$READY_TIMEOUT" "docker info" engine_up; then
    fail "dockerd does not answer 'docker info' on $DOCKER_SOCK within ${READY_TIMEOUT}s (see $LOG_DIR/docker.log)"
    return 1
  fi
  ensure_image || return 1
  if ! run_check; then
    fail "'docker run --network none $BUSYBOX_IMAGE' did not print ok (see $LOG_DIR/docker.log)"
    return 1
  fi
  log "ready: $DOCKER_SOCK (image $BUSYBOX_IMAGE)"
}

part_status() {
  if engine_up && docker -H "$DOCKER_HOST_URI" image inspect "$BUSYBOX_IMAGE" >/dev/null 2>&1; then
    echo "docker: up $DOCKER_SOCK$(pid_alive docker || echo ' (not started by us)')"
  else
    echo "docker: down"
    return 1
  fi
}

part_stop() {
  # Only a dockerd we started; a reused one belongs to someone else.
  if pid_alive docker; then
    stop_pid docker 40
    log "stopped"
  else
    rm -f "$RUN_DIR/docker.pid"
    log "no dockerd started by us; nothing to stop"
  fi
}

dispatch "$@"

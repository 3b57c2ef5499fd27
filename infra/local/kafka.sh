#!/usr/bin/env bash
# Apache Kafka 4.x, single KRaft node (broker + controller), from Maven Central jars.
# Listens on 127.0.0.1 only: 9092 plaintext (tests, tooling), 9094 SASL_SSL (SCRAM-SHA-512,
# what the services use) and 9093 (controller). Identities and ACLs: infra/local/kafka/security.sh.
#   kafka.sh install|start|status|stop
#   kafka.sh rotate <user>       new password file, then the broker's SCRAM credential
#   kafka.sh add-host <name>     a principal host.<name> for that hypervisor's collectors
#   kafka.sh connect-info        how to connect a client (no password printed)
PART=kafka
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

KAFKA_DIR="$STACK_DIR/kafka"
# A second broker (e.g. for a test that stops it) can share the fetched jars: KAFKA_LIBS=...
KAFKA_LIBS="${KAFKA_LIBS:-$KAFKA_DIR/libs}"
KAFKA_PORT="${KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
# `none`: no SASL_SSL listener and no authorizer (a throwaway broker of a test, libs/testing).
KAFKA_SASL_PORT="${KAFKA_SASL_PORT:-9094}"
KAFKA_HEAP="${KAFKA_HEAP:--Xms256m -Xmx768m}"
POM="$REPO_ROOT/infra/local/kafka/pom.xml"
source "$REPO_ROOT/infra/local/kafka/security.sh"

secured() { [ "$KAFKA_SASL_PORT" != none ]; }

part_install() {
  command -v java >/dev/null || apt_ensure openjdk-17-jre-headless || return 1
  command -v mvn >/dev/null || apt_ensure maven || return 1
  command -v kcat >/dev/null || apt_ensure kcat || return 1
  command -v openssl >/dev/null || apt_ensure openssl || return 1
  # Re-fetch only when the pom changed since the last fetch.
  local stamp="$KAFKA_LIBS/.pom.sha256" want
  want="$(sha256sum "$POM" | cut -d' ' -f1)"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then return 0; fi
  log "fetching the Kafka broker jars from Maven Central (log: $LOG_DIR/kafka-maven.log)"
  rm -rf "$KAFKA_LIBS" && mkdir -p "$KAFKA_LIBS"
  mvn -B -q -f "$POM" dependency:copy-dependencies -DincludeScope=runtime \
    -DoutputDirectory="$KAFKA_LIBS" >"$LOG_DIR/kafka-maven.log" 2>&1 ||
    fail "Maven could not fetch org.apache.kafka:kafka_2.13 (see $LOG_DIR/kafka-maven.log; needs Maven Central)" || return 1
  echo "$want" >"$stamp"
}

write_config() {
  mkdir -p "$KAFKA_DIR/data"
  local listeners="PLAINTEXT://127.0.0.1:$KAFKA_PORT" protocols="CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT"
  secured && listeners+=",SASL_SSL://127.0.0.1:$KAFKA_SASL_PORT" && protocols+=",SASL_SSL:SASL_SSL"
  cat >"$KAFKA_DIR/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=$listeners,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=$listeners
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=$protocols
log.dirs=$KAFKA_DIR/data
num.partitions=1
auto.create.topics.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
log.retention.hours=168
PROPS
  # SCRAM users live in the KRaft metadata log; ACLs too (StandardAuthorizer). ANONYMOUS is the
  # plaintext listener's principal (loopback only; the controller's own requests too).
  secured && cat >>"$KAFKA_DIR/server.properties" <<PROPS
sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.ssl.keystore.type=PEM
listener.name.sasl_ssl.ssl.keystore.location=$KAFKA_TLS_DIR/broker.pem
listener.name.sasl_ssl.ssl.client.auth=none
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
allow.everyone.if.no.acl.found=false
super.users=User:ANONYMOUS;User:admin
PROPS
  cat >"$KAFKA_DIR/log4j2.properties" <<PROPS
status = warn
appender.file.type = File
appender.file.name = file
appender.file.fileName = $LOG_DIR/kafka.log
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = info
rootLogger.appenderRef.file.ref = file
logger.kafka.name = kafka
logger.kafka.level = info
logger.state.name = state.change.logger
logger.state.level = warn
PROPS
}

ready() {
  # A real produce/consume round trip, not only an open port.
  local token="ready-$$-$RANDOM"
  echo "$token" | kcat -b "127.0.0.1:$KAFKA_PORT" -P -t __stack_ready -m 5 >/dev/null 2>&1 || return 1
  kcat -b "127.0.0.1:$KAFKA_PORT" -C -t __stack_ready -o -5 -e -q -m 5 2>/dev/null | grep -q "$token"
}

# The broker's configuration as it was written for its start: a change restarts it.
config_digest() { sha256sum <"$KAFKA_DIR/server.properties" | cut -d' ' -f1; }

part_start() {
  if secured; then tls_ensure && secrets_ensure || return 1; fi
  if ! pid_alive kafka && port_open "$KAFKA_PORT"; then
    if ready; then
      # Another checkout's stack (or a developer's own broker) already serves this port.
      log "a Kafka broker not started here already answers on 127.0.0.1:$KAFKA_PORT; using it"
      return 0
    fi
    fail "port 127.0.0.1:$KAFKA_PORT is taken by a process that is not a working Kafka broker (free it, or set KAFKA_PORT)"
    return 1
  fi
  write_config
  if pid_alive kafka && [ "$(cat "$RUN_DIR/kafka.config.sha256" 2>/dev/null)" != "$(config_digest)" ]; then
    log "the running broker was started with another configuration (e.g. before the SASL_SSL listener); restarting it"
    part_stop
  fi
  if pid_alive kafka && ready; then
    log "already running on 127.0.0.1:$KAFKA_PORT"
  else
    pid_alive kafka || launch || return 1
    if ! wait_until "$READY_TIMEOUT" "kafka round trip" ready; then
      fail "no produce/consume round trip within ${READY_TIMEOUT}s (see $LOG_DIR/kafka.log and $LOG_DIR/kafka.out)"
      return 1
    fi
  fi
  if secured; then
    security_apply || return 1
    wait_until 30 "SASL_SSL metadata" sasl_ready ||
      fail "no SASL_SSL answer as admin on 127.0.0.1:$KAFKA_SASL_PORT (see $LOG_DIR/kafka.log)" || return 1
  fi
  log "ready: 127.0.0.1:$KAFKA_PORT$(secured && echo ", SASL_SSL 127.0.0.1:$KAFKA_SASL_PORT")"
}

launch() {
  local cp="$KAFKA_LIBS/*"
  if [ ! -f "$KAFKA_DIR/data/meta.properties" ]; then
    java -cp "$cp" -Dlog4j2.configurationFile="$KAFKA_DIR/log4j2.properties" kafka.tools.StorageTool format \
      -t "$(java -cp "$cp" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -1)" \
      -c "$KAFKA_DIR/server.properties" >"$LOG_DIR/kafka-format.log" 2>&1 ||
      fail "storage format failed (see $LOG_DIR/kafka-format.log)" || return 1
  fi
  log "starting the broker (log: $LOG_DIR/kafka.log)"
  # shellcheck disable=SC2086
  nohup java $KAFKA_HEAP -XX:+UseG1GC -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$KAFKA_DIR/log4j2.properties" \
    -cp "$cp" kafka.Kafka "$KAFKA_DIR/server.properties" >"$LOG_DIR/kafka.out" 2>&1 &
  echo $! >"$RUN_DIR/kafka.pid"
  config_digest >"$RUN_DIR/kafka.config.sha256"
}

part_status() {
  if ! pid_alive kafka || ! ready; then echo "kafka: down"; return 1; fi
  echo "kafka: up 127.0.0.1:$KAFKA_PORT$(secured && echo ", SASL_SSL 127.0.0.1:$KAFKA_SASL_PORT")"
}

part_stop() {
  stop_pid kafka 30
  log "stopped"
}

case "${1:-start}" in
  rotate) shift; security_rotate "$@" ;;
  add-host) shift; security_add_host "$@" ;;
  connect-info) security_connect_info ;;
  *) dispatch "$@" ;;
esac

#!/usr/bin/env bash
# Identities for the local broker: a CA and broker certificate (SASL_SSL listener), one SCRAM
# user per component with a random password, the topics, and ACLs that let each component do
# only its job. Sourced by infra/local/kafka.sh (needs KAFKA_DIR, KAFKA_LIBS, KAFKA_PORT,
# KAFKA_SASL_PORT, STACK_DIR from it). Everything is idempotent: run at every start, it
# creates only what is missing and applies users and ACLs only when they changed.
#
# The plaintext listener (127.0.0.1:$KAFKA_PORT) stays for tests and tooling: its clients are
# User:ANONYMOUS, a super user. It binds loopback only, so anyone who can use it already has
# this machine's account; every service of `npm run stack` uses the SASL_SSL listener.

KAFKA_TLS_DIR="$KAFKA_DIR/tls"
KAFKA_SECRETS_DIR="$STACK_DIR/secrets"
SAMPLES_TOPIC=metering.samples.v1
USAGE_TOPIC=billing.usage.v1
DLQ_TOPIC=metering.samples.dlq.v1
INVOICES_TOPIC=billing.invoices.v1
# The host principal of this machine: `host.<name>`, <name> being what the collectors put in a
# sample's `host` (their HOST_NAME setting, default os.hostname(), i.e. `uname -n`).
LOCAL_HOST_NAME="${KAFKA_LOCAL_HOST_NAME:-$(uname -n)}"

# One line of a component's password file: 64 hex digits (256 bits; no character a properties
# file or SCRAM would need to escape).
password_file() { echo "$KAFKA_SECRETS_DIR/kafka-$1.password"; }

valid_user() { [[ "$1" =~ ^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$ ]]; }

# Writes a new random password for $1 atomically (mode 0600): a reader sees the old file or the
# new one, never a partial one.
write_password() {
  local file tmp
  file="$(password_file "$1")"
  tmp="$(mktemp "$file.XXXXXX")"
  (umask 077 && openssl rand -hex 32 >"$tmp") && chmod 600 "$tmp" && mv -f "$tmp" "$file"
}

tls_ensure() {
  local d="$KAFKA_TLS_DIR"
  [ -s "$d/ca.crt" ] && [ -s "$d/broker.pem" ] && return 0
  log "generating a local CA and the broker certificate in $d"
  mkdir -p "$d" && chmod 700 "$d"
  (
    set -e
    cd "$d"
    umask 077
    openssl req -x509 -newkey rsa:2048 -nodes -days 825 -subj "/CN=metering local CA" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
      -keyout ca.key -out ca.crt
    openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout broker.key -out broker.csr
    printf '%s\n' "subjectAltName=IP:127.0.0.1,DNS:localhost" "basicConstraints=CA:FALSE" \
      "keyUsage=critical,digitalSignature,keyEncipherment" "extendedKeyUsage=serverAuth" >broker.ext
    openssl x509 -req -days 825 -in broker.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
      -extfile broker.ext -out broker.crt
    # Kafka's PEM keystore: the (PKCS#8, unencrypted) key, then the chain.
    cat broker.key broker.crt ca.crt >broker.pem
    rm -f broker.csr broker.ext ca.srl
    chmod 600 ca.key broker.key broker.pem
    chmod 644 ca.crt broker.crt
  ) >"$LOG_DIR/kafka-tls.log" 2>&1 || fail "openssl could not make the certificates (see $LOG_DIR/kafka-tls.log)"
}

# The hosts with a principal: this machine, and every host added with `kafka.sh add-host`.
known_hosts() {
  local f
  {
    echo "$LOCAL_HOST_NAME"
    for f in "$KAFKA_SECRETS_DIR"/kafka-host.*.password; do
      [ -f "$f" ] || continue
      f="${f##*/kafka-host.}"
      echo "${f%.password}"
    done
  } | sort -u
}

kafka_users() {
  local h
  echo admin rating billing-api
  for h in $(known_hosts); do echo "host.$h"; done
}

secrets_ensure() {
  local u
  mkdir -p "$KAFKA_SECRETS_DIR" && chmod 700 "$KAFKA_SECRETS_DIR"
  for u in $(kafka_users); do
    valid_user "$u" || { fail "'$u' is not a valid Kafka user name (letters, digits, . _ -)"; return 1; }
    [ -s "$(password_file "$u")" ] || write_password "$u" || return 1
  done
}

# Kafka's command-line tools (SLF4J without a binding: quiet). Output to the security log, any
# password masked (ConfigCommand quotes a credential it cannot parse).
kafka_tool() {
  local out rc=0
  out="$(java -Xmx256m -cp "$KAFKA_LIBS/*" "$@" 2>&1)" || rc=$?
  printf '%s\n' "$out" | grep -v '^SLF4J' | sed -E 's/(password=)[^],[:space:]]*/\1<masked>/g' \
    >>"$LOG_DIR/kafka-security.log"
  return $rc
}

# Sets user $1's SCRAM-SHA-512 credential to the password in its file. The password goes
# through a 0600 file, never a command line (which `ps` shows).
scram_apply() {
  local user="$1" conf rc=0
  conf="$(mktemp "$KAFKA_SECRETS_DIR/.scram.XXXXXX")"
  # In a file the value has no [brackets] (those are --add-config's quoting). 4096 iterations.
  printf 'SCRAM-SHA-512=password=%s\n' "$(cat "$(password_file "$user")")" >"$conf"
  kafka_tool kafka.admin.ConfigCommand --bootstrap-server "127.0.0.1:$KAFKA_PORT" --alter \
    --entity-type users --entity-name "$user" --add-config-file "$conf" || rc=$?
  rm -f "$conf"
  [ "$rc" -eq 0 ] || fail "could not set the SCRAM credential of $user (see $LOG_DIR/kafka-security.log)"
}

# acl PRINCIPALS(space-separated) -- AclCommand resource and operation options...
acl() {
  local principals=() p
  for p in $1; do principals+=(--allow-principal "User:$p" --allow-host '*'); done
  shift
  kafka_tool org.apache.kafka.tools.AclCommand --bootstrap-server "127.0.0.1:$KAFKA_PORT" --add \
    --force "${principals[@]}" "$@" ||
    fail "could not add the ACL $* (see $LOG_DIR/kafka-security.log)"
}

topic_ensure() {
  kafka_tool org.apache.kafka.tools.TopicCommand --bootstrap-server "127.0.0.1:$KAFKA_PORT" --create \
    --if-not-exists --topic "$1" --partitions "$2" --replication-factor 1 --config "retention.ms=$3" ||
    fail "could not create topic $1 (see $LOG_DIR/kafka-security.log)"
}

# Collectors (both on a host share its principal): produce samples, nothing else. WRITE on a
# topic also allows the idempotent producer's InitProducerId (KIP-679), no IDEMPOTENT_WRITE.
host_acl() { acl "$1" --operation Write --operation Describe --topic "$SAMPLES_TOPIC"; }

# Topics and ACLs. Topics are created here (as Strimzi's KafkaTopics are in k8s), so no service
# needs CREATE; partitions as the services' defaults, retention as k8s/base/kafka-topics.yaml.
apply_policy() {
  local hosts
  hosts="$(known_hosts | sed 's/^/host./' | tr '\n' ' ')"
  topic_ensure "$SAMPLES_TOPIC" 6 604800000 &&
    topic_ensure "$USAGE_TOPIC" 6 604800000 &&
    topic_ensure "$DLQ_TOPIC" 6 2592000000 &&
    topic_ensure "$INVOICES_TOPIC" 3 2592000000 || return 1
  host_acl "$hosts" &&
    # rating: consume samples (group `rating`), produce usage and dead letters; its DLQ CLI
    # reads the DLQ, its offsets CLI reads samples, each through a throwaway group it deletes.
    acl rating --operation Read --operation Describe --topic "$SAMPLES_TOPIC" --topic "$DLQ_TOPIC" &&
    acl rating --operation Write --operation Describe --topic "$USAGE_TOPIC" --topic "$DLQ_TOPIC" &&
    acl rating --operation DescribeConfigs --topic "$DLQ_TOPIC" &&
    acl rating --operation Read --group rating &&
    acl rating --operation Read --operation Delete --resource-pattern-type prefixed \
      --group rating-cli-dlq-cli- --group metering-reader- &&
    # billing-api: consume usage (group `billing-api`), produce invoice events.
    acl billing-api --operation Read --operation Describe --topic "$USAGE_TOPIC" &&
    acl billing-api --operation Read --group billing-api &&
    acl billing-api --operation Write --operation Describe --topic "$INVOICES_TOPIC"
}

# stamp_matches FILE DIGEST / the digest of what a step depends on.
stamp_matches() { [ -f "$1" ] && [ "$(cat "$1")" = "$2" ]; }
cluster_id() { grep '^cluster.id=' "$KAFKA_DIR/data/meta.properties" 2>/dev/null; }

# Called by kafka.sh once the broker answers: users, topics and ACLs, when they changed.
security_apply() {
  secrets_ensure || return 1
  local u stamp want
  # Users: again after every broker start. Kafka 4.1 keeps SCRAM credentials in the metadata log
  # but a restarted combined broker+controller does not load them into its authenticator's cache
  # (measured: every user created before a restart is refused after it), so they are re-set.
  stamp="$RUN_DIR/kafka.users.applied"
  want="$({ cat "$RUN_DIR/kafka.pid" 2>/dev/null; for u in $(kafka_users); do
    echo "$u $(sha256sum <"$(password_file "$u")")"; done; } | sha256sum | cut -d' ' -f1)"
  if ! stamp_matches "$stamp" "$want"; then
    log "setting the SCRAM users (log: $LOG_DIR/kafka-security.log)"
    for u in $(kafka_users); do scram_apply "$u" || return 1; done
    echo "$want" >"$stamp"
  fi
  # Topics and ACLs live in the metadata log for good: again only when the policy changed.
  stamp="$KAFKA_DIR/policy.applied"
  want="$({ cluster_id; known_hosts; sed -n '/^host_acl()/p;/^apply_policy()/,/^}/p' "${BASH_SOURCE[0]}"; } |
    sha256sum | cut -d' ' -f1)"
  if ! stamp_matches "$stamp" "$want"; then
    log "creating the topics and ACLs (log: $LOG_DIR/kafka-security.log)"
    apply_policy || return 1
    echo "$want" >"$stamp"
  fi
}

# A Java client's settings for user $1 over SASL_SSL (holds the password: a 0600 file), for
# Kafka's own tools: `--command-config "$(client_properties admin)"`. kcat cannot be used here:
# Debian 12's librdkafka 2.0.2 sends a SCRAM nonce Kafka 4.x refuses (fixed in librdkafka 2.6.1,
# confluentinc/librdkafka#4895).
client_properties() {
  local file="$KAFKA_SECRETS_DIR/kafka-$1.client.properties"
  (umask 077 && printf '%s\n' "security.protocol=SASL_SSL" "sasl.mechanism=SCRAM-SHA-512" \
    "ssl.truststore.type=PEM" "ssl.truststore.location=$KAFKA_TLS_DIR/ca.crt" \
    "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username=\"$1\" password=\"$(cat "$(password_file "$1")")\";" \
    >"$file.tmp" && mv -f "$file.tmp" "$file")
  echo "$file"
}

# A SASL_SSL request as admin: the listener, the certificate and SCRAM work.
sasl_ready() {
  java -Xmx128m -cp "$KAFKA_LIBS/*" org.apache.kafka.tools.TopicCommand \
    --bootstrap-server "127.0.0.1:$KAFKA_SASL_PORT" --command-config "$(client_properties admin)" \
    --describe --topic "$SAMPLES_TOPIC" 2>/dev/null | grep -q "Topic: $SAMPLES_TOPIC"
}

# kafka.sh rotate USER: a new password in the file first (clients re-read it at every
# authentication), then the broker's credential. Connections already open stay authenticated;
# a client that reconnects in between fails once and retries (collectors spool meanwhile).
security_rotate() {
  local user="${1-}"
  valid_user "$user" || { fail "usage: kafka.sh rotate <user> (one of: $(kafka_users | tr '\n' ' '))"; return 1; }
  [ -s "$(password_file "$user")" ] || { fail "no user $user (no $(password_file "$user"))"; return 1; }
  write_password "$user" || return 1
  # The file is new already: a failure here is mended by `kafka.sh start` (it sets every user from
  # its file) or by rotating again.
  scram_apply "$user" || { fail "$user's new password is in its file but not on the broker: run kafka.sh start (or rotate again)"; return 1; }
  log "rotated $user: new password in $(password_file "$user")"
}

# kafka.sh add-host NAME: a principal host.NAME for the collectors of hypervisor NAME.
security_add_host() {
  local host="${1-}"
  valid_user "host.$host" || { fail "usage: kafka.sh add-host <host name as in the samples' host field>"; return 1; }
  mkdir -p "$KAFKA_SECRETS_DIR" && chmod 700 "$KAFKA_SECRETS_DIR"
  [ -s "$(password_file "host.$host")" ] || write_password "host.$host" || return 1
  # Only this user and its ACL now; the next start sees the policy changed and re-applies it all.
  scram_apply "host.$host" && host_acl "host.$host" || return 1
  log "host.$host may produce $SAMPLES_TOPIC; its password: $(password_file "host.$host")"
}

# How to connect a client; names the password files, never prints a password.
security_connect_info() {
  local host="host.$LOCAL_HOST_NAME"
  cat <<TXT
  Kafka SASL_SSL 127.0.0.1:$KAFKA_SASL_PORT  (SCRAM-SHA-512; users: $(kafka_users | tr '\n' ' '))
    CA $KAFKA_TLS_DIR/ca.crt, passwords $KAFKA_SECRETS_DIR/kafka-<user>.password
    Node (libs/kafka): KAFKA_BROKERS=127.0.0.1:$KAFKA_SASL_PORT KAFKA_TLS=true \\
      KAFKA_TLS_CA_FILE=$KAFKA_TLS_DIR/ca.crt KAFKA_SASL_MECHANISM=scram-sha-512 \\
      KAFKA_SASL_USERNAME=$host KAFKA_SASL_PASSWORD_FILE=$(password_file "$host")
    Kafka's tools: --bootstrap-server 127.0.0.1:$KAFKA_SASL_PORT --command-config $KAFKA_SECRETS_DIR/kafka-admin.client.properties
    kcat (librdkafka >= 2.6.1; Debian 12's 2.0.2 fails SCRAM with Kafka 4): kcat -b 127.0.0.1:$KAFKA_SASL_PORT \\
      -X security.protocol=SASL_SSL -X sasl.mechanisms=SCRAM-SHA-512 -X ssl.ca.location=$KAFKA_TLS_DIR/ca.crt \\
      -X sasl.username=admin -X sasl.password="\$(cat $(password_file admin))" -L
TXT
}

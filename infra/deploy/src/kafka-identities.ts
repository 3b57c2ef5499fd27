import { containerEnv } from './container-env';
import { type JsonObject, type Manifest, podSpecs } from './kustomize';
import { describeManifest } from './k8s-validation';
import { isObject, list, str, show } from './json-access';

/**
 * The Kafka side of the manifests' identities: listeners that all encrypt and authenticate,
 * KafkaUsers whose ACLs name literal topics and groups with named operations, and clients whose
 * settings point at the TLS listener with a Secret that exists (Strimzi's cluster CA, the
 * KafkaUser's own) or, for a hypervisor host's collector, the credentials on its node.
 */

/** Prefix of a hypervisor host's KafkaUser (k8s/hosts/kafka-user.template.yaml). */
export const HOST_USER_PREFIX = 'host.';
/** Where a node keeps its own credentials (the collectors mount it read-only). */
const NODE_CREDENTIALS_PATH = '/etc/metering';

/** A user's ACLs as sorted lines `topic metering.samples.v1 Read` (`cluster IdempotentWrite`). */
export function aclLines(user: Manifest): string[] {
  const spec = isObject(user.spec) ? user.spec : {};
  const authorization = isObject(spec.authorization) ? spec.authorization : {};
  const lines: string[] = [];
  for (const rule of list(authorization.acls).filter(isObject)) {
    const resource = isObject(rule.resource) ? rule.resource : {};
    const target =
      resource.type === 'cluster'
        ? 'cluster'
        : `${str(resource.type) ?? '?'} ${str(resource.name) ?? '?'}`;
    for (const operation of list(rule.operations)) lines.push(`${target} ${show(operation)}`);
  }
  return lines.sort();
}

/** What no ACL here may do: wildcards, prefixes, `All`, deny rules, per-host restrictions. */
export function aclProblems(user: Manifest): string[] {
  const what = describeManifest(user);
  const spec = isObject(user.spec) ? user.spec : {};
  const problems: string[] = [];
  const authentication = isObject(spec.authentication) ? spec.authentication : {};
  if (authentication.type !== 'scram-sha-512') problems.push(`${what}: not a SCRAM-SHA-512 user`);
  const authorization = isObject(spec.authorization) ? spec.authorization : {};
  if (authorization.type !== 'simple') problems.push(`${what}: no simple authorization`);
  for (const rule of list(authorization.acls).filter(isObject)) {
    const resource = isObject(rule.resource) ? rule.resource : {};
    const name = str(resource.name);
    if (name !== undefined && name.includes('*')) problems.push(`${what}: wildcard ${name}`);
    if ((resource.patternType ?? 'literal') !== 'literal') {
      problems.push(`${what}: ${show(resource.patternType)} pattern on ${name ?? '?'}`);
    }
    if (list(rule.operations).includes('All')) problems.push(`${what}: operation All`);
    if ((rule.type ?? 'allow') !== 'allow') problems.push(`${what}: a ${show(rule.type)} rule`);
    if ((rule.host ?? '*') !== '*') problems.push(`${what}: ACL bound to host ${show(rule.host)}`);
  }
  return problems;
}

/** Every listener encrypts and authenticates with SCRAM-SHA-512; authorization is simple. */
export function listenerProblems(kafka: Manifest): string[] {
  const what = describeManifest(kafka);
  const spec = isObject(kafka.spec) && isObject(kafka.spec.kafka) ? kafka.spec.kafka : {};
  const problems: string[] = [];
  for (const listener of list(spec.listeners).filter(isObject)) {
    const name = str(listener.name) ?? '?';
    if (listener.tls !== true) problems.push(`${what}: listener ${name} without TLS`);
    const authentication = isObject(listener.authentication) ? listener.authentication : {};
    if (authentication.type !== 'scram-sha-512') {
      problems.push(`${what}: listener ${name} without SCRAM-SHA-512 authentication`);
    }
  }
  const authorization = isObject(spec.authorization) ? spec.authorization : {};
  if (authorization.type !== 'simple') problems.push(`${what}: authorization is not simple`);
  if (list(authorization.superUsers).length > 0) problems.push(`${what}: superusers`);
  return problems;
}

/** The internal TLS listener's port (where the services' bootstrap must point). */
function internalTlsPort(kafka: Manifest): number | undefined {
  const spec = isObject(kafka.spec) && isObject(kafka.spec.kafka) ? kafka.spec.kafka : {};
  const listener = list(spec.listeners)
    .filter(isObject)
    .find((l) => l.type === 'internal' && l.tls === true);
  return typeof listener?.port === 'number' ? listener.port : undefined;
}

interface FileSource {
  /** secret: the Secret and key the file comes from; hostPath: the node's path. */
  kind: 'secret' | 'hostPath' | 'other';
  name: string;
  key: string;
}

/** Where a file path inside the workload's first container comes from. */
function fileSource(workload: Manifest, path: string): FileSource | undefined {
  const spec = podSpecs(workload)[0];
  const container = list(spec?.containers).find(isObject);
  if (spec === undefined || container === undefined) return undefined;
  const mount = list(container.volumeMounts)
    .filter(isObject)
    .filter((m) => {
      const at = str(m.mountPath) ?? '';
      return path.startsWith(at.endsWith('/') ? at : `${at}/`);
    })
    .sort((a, b) => (str(b.mountPath) ?? '').length - (str(a.mountPath) ?? '').length)[0];
  if (mount === undefined) return undefined;
  const relative = path.slice((str(mount.mountPath) ?? '').replace(/\/$/, '').length + 1);
  const volume = list(spec.volumes)
    .filter(isObject)
    .find((v) => v.name === mount.name);
  if (volume === undefined) return undefined;
  const fromSecret = (secret: JsonObject, name: string | undefined): FileSource | undefined => {
    const items = list(secret.items).filter(isObject);
    if (items.length === 0) return { kind: 'secret', name: name ?? '', key: relative };
    const item = items.find((i) => i.path === relative);
    return item === undefined
      ? undefined
      : { kind: 'secret', name: name ?? '', key: str(item.key) ?? '' };
  };
  if (isObject(volume.secret)) return fromSecret(volume.secret, str(volume.secret.secretName));
  if (isObject(volume.projected)) {
    for (const source of list(volume.projected.sources).filter(isObject)) {
      if (!isObject(source.secret)) continue;
      const found = fromSecret(source.secret, str(source.secret.name));
      if (found !== undefined && list(source.secret.items).length > 0) return found;
    }
    return undefined;
  }
  if (isObject(volume.hostPath)) {
    return { kind: 'hostPath', name: str(volume.hostPath.path) ?? '', key: relative };
  }
  return { kind: 'other', name: str(volume.name) ?? '', key: relative };
}

/**
 * Every workload that talks to Kafka (KAFKA_BROKERS in its environment) uses the TLS listener
 * with SCRAM-SHA-512, the cluster CA from Strimzi's Secret, and a password from its KafkaUser's
 * Secret (named as its user) or, for a collector, from its node as host.<node name>.
 */
export function kafkaClientProblems(manifests: readonly Manifest[]): string[] {
  const problems: string[] = [];
  const kafka = manifests.find((m) => m.kind === 'Kafka');
  if (kafka === undefined) return ['no Kafka'];
  const cluster = kafka.metadata.name;
  const port = internalTlsPort(kafka);
  const users = new Set(
    manifests.filter((m) => m.kind === 'KafkaUser').map((u) => u.metadata.name),
  );
  for (const workload of manifests) {
    if (!['Deployment', 'DaemonSet', 'StatefulSet'].includes(workload.kind)) continue;
    const env = containerEnv(manifests, workload);
    if (!env.has('KAFKA_BROKERS')) continue;
    const what = describeManifest(workload);
    const expect = (name: string, value: string): void => {
      if (env.get(name) !== value) {
        problems.push(
          `${what}: ${name} is ${JSON.stringify(env.get(name) ?? null)}, expected ${value}`,
        );
      }
    };
    expect('KAFKA_BROKERS', `${cluster}-kafka-bootstrap:${port ?? '?'}`);
    expect('KAFKA_TLS', 'true');
    expect('KAFKA_SASL_MECHANISM', 'scram-sha-512');
    for (const name of ['KAFKA_SASL_PASSWORD', 'KAFKA_TLS_REJECT_UNAUTHORIZED']) {
      if (env.has(name)) problems.push(`${what}: ${name} is set`);
    }
    const ca = fileSource(workload, env.get('KAFKA_TLS_CA_FILE') ?? '');
    if (ca?.kind !== 'secret' || ca.name !== `${cluster}-cluster-ca-cert` || ca.key !== 'ca.crt') {
      problems.push(
        `${what}: KAFKA_TLS_CA_FILE is not ca.crt of the mounted Secret ${cluster}-cluster-ca-cert`,
      );
    }
    const username = env.get('KAFKA_SASL_USERNAME') ?? '';
    const password = fileSource(workload, env.get('KAFKA_SASL_PASSWORD_FILE') ?? '');
    if (password === undefined) {
      problems.push(`${what}: KAFKA_SASL_PASSWORD_FILE is on no mounted volume`);
    } else if (password.kind === 'secret') {
      if (!users.has(password.name) || password.key !== 'password') {
        problems.push(
          `${what}: KAFKA_SASL_PASSWORD_FILE is not the password of a KafkaUser's Secret`,
        );
      } else if (
        workload.kind !== 'DaemonSet'
          ? password.name !== username
          : !password.name.startsWith(HOST_USER_PREFIX)
      ) {
        problems.push(
          `${what}: KAFKA_SASL_USERNAME ${username} does not match the mounted Secret ${password.name}`,
        );
      }
    } else if (password.kind === 'hostPath') {
      // Only a collector, only as its own node, only from the node's credentials folder.
      const raw = list(podSpecs(workload)[0]?.containers).filter(isObject)[0];
      const rawUser = list(raw?.env)
        .filter(isObject)
        .find((e) => e.name === 'KAFKA_SASL_USERNAME');
      const hostName = list(raw?.env)
        .filter(isObject)
        .find((e) => e.name === 'HOST_NAME');
      const nodeName =
        isObject(hostName?.valueFrom) &&
        isObject(hostName.valueFrom.fieldRef) &&
        hostName.valueFrom.fieldRef.fieldPath === 'spec.nodeName';
      if (
        workload.kind !== 'DaemonSet' ||
        password.name !== NODE_CREDENTIALS_PATH ||
        rawUser?.value !== `${HOST_USER_PREFIX}$(HOST_NAME)` ||
        !nodeName
      ) {
        problems.push(
          `${what}: a password from the node only for a collector, as ${HOST_USER_PREFIX}$(HOST_NAME) with HOST_NAME = the node's name`,
        );
      }
    } else {
      problems.push(`${what}: KAFKA_SASL_PASSWORD_FILE is not from a Secret`);
    }
  }
  return problems;
}

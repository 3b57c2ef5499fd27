import { Buffer } from 'node:buffer';
import { type JsonObject, type JsonValue, type Manifest, podSpecs } from './kustomize';
import { describeManifest } from './k8s-validation';
import { type ServiceFacts } from './workspaces';
import { isObject, list, str, show } from './json-access';
import { databaseRoleProblems } from './database-roles';

/**
 * The product's own rules for a rendered overlay, beyond what the schemas say: probes (liveness
 * on /livez, readiness on /readyz, a startup probe, sane timings), security
 * contexts, host mounts, settings the services really read, references that resolve, rating's
 * replicas against the samples topic's partitions, no real secrets, the Docker socket for its
 * proxy only. (Kafka identities: kafka-identities.ts; NetworkPolicies: network-policy.ts.)
 * Long because: one list of short, independent rules read against one render through the same
 * lookups (find, byKind); split, each part would rebuild them.
 */
/* eslint-disable max-lines -- Long because: see the comment above. */

/** How a host path may be mounted. */
export interface HostPathRule {
  readonly readOnly: boolean;
  /** An overlay may replace it (the local overlay mounts the node's Kafka password from a Secret). */
  readonly optional?: boolean;
  /** The only container that may mount it; undefined: the service's own container. */
  readonly onlyContainer?: string;
}

/** The sidecar that stands between docker-collector and the Docker socket. */
export const DOCKER_SOCKET_PROXY = 'docker-socket-proxy';
/** Host paths that give whoever mounts them the Docker (or containerd) API: root on the node. */
const ENGINE_SOCKET_PATHS = ['/var/run/docker.sock', '/run/docker.sock', '/var/run', '/run'];

/** Host paths each collector gets, how, and who mounts them. */
const COLLECTOR_HOST_PATHS: Readonly<Record<string, Readonly<Record<string, HostPathRule>>>> = {
  'docker-collector': {
    '/var/run/docker.sock': { readOnly: true, onlyContainer: DOCKER_SOCKET_PROXY },
    '/sys/fs/cgroup': { readOnly: true },
    '/proc': { readOnly: true },
    '/var/lib/metering/spool/docker-collector': { readOnly: false },
    '/etc/metering': { readOnly: true, optional: true },
  },
  'vm-collector': {
    '/var/run/libvirt': { readOnly: true },
    // Its domains' CPU counters (DOMAIN_CPU=cgroup).
    '/sys/fs/cgroup': { readOnly: true },
    '/proc': { readOnly: true },
    '/var/lib/metering/spool/vm-collector': { readOnly: false },
    '/etc/metering': { readOnly: true, optional: true },
  },
};

/**
 * Secrets the workloads refer to that no overlay for production may ship: created in the cluster
 * from outside the repository (docs/operations.md, "Kubernetes", step 1), with the keys read.
 * The local overlay generates development values for them.
 */
export const EXTERNAL_SECRETS: Readonly<Record<string, readonly string[]>> = {
  'billing-api-admin': ['ADMIN_API_KEY'],
  // Encrypts webhook signing secrets at rest (billing-api README, "Webhooks").
  'billing-api-webhooks': ['WEBHOOK_SECRET_KEY'],
  // The ledger's owner: CloudNativePG and the migrate init containers only.
  'metering-db-credentials': ['username', 'password'],
  // The role rating and billing-api connect as (docs/operations.md, "Database roles").
  'metering-db-app-credentials': ['username', 'password'],
  // The seller on every invoice: the operator's own details, not secret but not the repo's.
  'billing-api-seller': ['SELLER_LEGAL_NAME', 'SELLER_ADDRESS', 'SELLER_TAX_ID', 'SELLER_IBAN'],
  'grafana-admin': ['username', 'password'],
  'influxdb-admin': ['username', 'password'],
  'influxdb-rating': ['username', 'password'],
  'influxdb-grafana': ['username', 'password'],
  // rating's master sample keys (ADR 0010): `keys`, one `<key id> <hex>` per line.
  'metering-host-keys': ['keys'],
};

/** Keys of the Secrets Strimzi creates: a KafkaUser's (SCRAM) and a cluster's CA certificate. */
export const KAFKA_USER_SECRET_KEYS = ['password', 'sasl.jaas.config'];
export const CLUSTER_CA_SECRET_KEYS = ['ca.crt', 'ca.p12', 'ca.password'];

/** Marks the local overlay's development secrets; every service refuses them in production. */
export const DEV_SECRET_PREFIX = 'DEV-ONLY-insecure-';

/** Settings the manifests set that no config.ts reads: inputs to Kubernetes' $(VAR) expansion. */
const EXPANSION_ONLY = new Set(['DB_USER', 'DB_PASSWORD', 'DB_OWNER_USER', 'DB_OWNER_PASSWORD']);
/** Read by Node or the C library, not by the service's config (heap budget, malloc arenas). */
const RUNTIME_SETTINGS = new Set(['NODE_OPTIONS', 'MALLOC_ARENA_MAX']);

const SAMPLES_TOPIC = 'metering.samples.v1';

/** Each health check is bounded by this (libs/observability's default healthCheckTimeoutMs). */
export const HEALTH_CHECK_TIMEOUT_SECONDS = 3;

/**
 * What each probe must request and how patient it must be. Liveness is the process itself
 * (/livez never touches a dependency); readiness its dependencies (/readyz). Timings:
 * - every probe waits longer than one health check may take, or a slow dependency would
 *   look like a hung process;
 * - liveness tolerates a minute of silence (a long batch, a GC pause) before a restart;
 * - readiness notices an outage within 30 s and leaves traffic at once;
 * - startup (before liveness counts) allows two minutes for migrations and the first listing.
 */
const PROBE_RULES = {
  startupProbe: { path: '/livez', minWindowSeconds: 120, maxPeriodSeconds: 10 },
  readinessProbe: { path: '/readyz', maxWindowSeconds: 30, maxPeriodSeconds: 10 },
  livenessProbe: { path: '/livez', minWindowSeconds: 60, maxPeriodSeconds: 30 },
} as const;

/** Kubernetes' defaults for fields a probe leaves out. */
const PROBE_DEFAULTS = { periodSeconds: 10, timeoutSeconds: 1, failureThreshold: 3 } as const;

function probeProblems(
  what: string,
  container: JsonObject,
  port: number,
  portName: string | undefined,
): string[] {
  const problems: string[] = [];
  for (const [name, rule] of Object.entries(PROBE_RULES)) {
    const probe = container[name];
    if (!isObject(probe)) {
      problems.push(`${what}: no ${name}`);
      continue;
    }
    const get = probe.httpGet;
    if (!isObject(get) || get.path !== rule.path) {
      problems.push(`${what}: ${name} must GET ${rule.path}`);
    } else if (get.port !== port && get.port !== portName) {
      problems.push(`${what}: ${name} port ${show(get.port)} is not the service's port`);
    }
    const seconds = (field: keyof typeof PROBE_DEFAULTS): number => {
      const value = probe[field];
      return typeof value === 'number' ? value : PROBE_DEFAULTS[field];
    };
    const period = seconds('periodSeconds');
    const timeout = seconds('timeoutSeconds');
    const window = period * seconds('failureThreshold');
    if (timeout <= HEALTH_CHECK_TIMEOUT_SECONDS) {
      problems.push(
        `${what}: ${name} timeoutSeconds ${timeout} must exceed the ${HEALTH_CHECK_TIMEOUT_SECONDS} s a health check may take`,
      );
    }
    if (period > rule.maxPeriodSeconds) {
      problems.push(`${what}: ${name} periodSeconds ${period} > ${rule.maxPeriodSeconds}`);
    }
    if ('minWindowSeconds' in rule && window < rule.minWindowSeconds) {
      problems.push(
        `${what}: ${name} gives up after ${window} s (periodSeconds × failureThreshold), under ${rule.minWindowSeconds} s`,
      );
    }
    if ('maxWindowSeconds' in rule && window > rule.maxWindowSeconds) {
      problems.push(
        `${what}: ${name} notices an outage after ${window} s (periodSeconds × failureThreshold), over ${rule.maxWindowSeconds} s`,
      );
    }
  }
  return problems;
}

export function policyProblems(
  manifests: readonly Manifest[],
  services: ReadonlyMap<string, ServiceFacts>,
): string[] {
  const problems: string[] = [];
  const byKind = (kind: string): Manifest[] => manifests.filter((m) => m.kind === kind);
  const find = (kind: string, name: string): Manifest | undefined =>
    manifests.find((m) => m.kind === kind && m.metadata.name === name);

  for (const m of manifests) {
    if (m.kind !== 'Namespace' && m.metadata.namespace !== 'metering') {
      problems.push(`${describeManifest(m)}: not in namespace metering`);
    }
  }

  // Workloads of the product's services.
  for (const [name, facts] of services) {
    const kind = name.endsWith('-collector') ? 'DaemonSet' : 'Deployment';
    const workload = find(kind, name);
    if (workload === undefined) {
      problems.push(`${name}: no ${kind}`);
      continue;
    }
    const what = describeManifest(workload);
    const spec = podSpecs(workload)[0];
    const container = spec === undefined ? undefined : list(spec.containers).find(isObject);
    if (spec === undefined || container === undefined) {
      problems.push(`${what}: no container`);
      continue;
    }
    const ports = list(container.ports).filter(isObject);
    const http = ports.find((p) => p.containerPort === facts.port);
    if (http === undefined) problems.push(`${what}: containerPort ${facts.port} missing`);
    problems.push(...probeProblems(what, container, facts.port, str(http?.name)));
    const security = isObject(container.securityContext) ? container.securityContext : {};
    const podSecurity = isObject(spec.securityContext) ? spec.securityContext : {};
    if (security.allowPrivilegeEscalation !== false)
      problems.push(`${what}: allowPrivilegeEscalation must be false`);
    if (security.readOnlyRootFilesystem !== true)
      problems.push(`${what}: readOnlyRootFilesystem must be true`);
    const caps = isObject(security.capabilities) ? security.capabilities : {};
    if (!list(caps.drop).includes('ALL')) problems.push(`${what}: capabilities must drop ALL`);
    if (list(caps.add).length > 0) problems.push(`${what}: adds capabilities`);
    if (security.privileged === true) problems.push(`${what}: privileged`);
    const runAsNonRoot = security.runAsNonRoot ?? podSecurity.runAsNonRoot;
    const runAsUser = security.runAsUser ?? podSecurity.runAsUser;
    if (
      kind === 'Deployment' &&
      (runAsNonRoot !== true || typeof runAsUser !== 'number' || runAsUser === 0)
    ) {
      problems.push(`${what}: must run as a numeric non-root user with runAsNonRoot`);
    }
    if (spec.automountServiceAccountToken !== false) {
      problems.push(`${what}: automountServiceAccountToken must be false (no API access needed)`);
    }
    if (spec.hostNetwork === true || spec.hostPID === true || spec.hostIPC === true) {
      problems.push(`${what}: host namespaces are not needed`);
    }

    // Host paths: collectors exactly theirs, everyone else none; each mounted by its container.
    const volumes = list(spec.volumes).filter(isObject);
    const hostPaths = new Map<string, string>();
    for (const v of volumes) {
      if (isObject(v.hostPath) && typeof v.hostPath.path === 'string') {
        hostPaths.set(str(v.name) ?? '', v.hostPath.path);
      }
    }
    const expected = COLLECTOR_HOST_PATHS[name] ?? {};
    const actual = [...new Set(hostPaths.values())].sort();
    const required = Object.keys(expected).filter((p) => expected[p]?.optional !== true);
    if (
      actual.some((p) => expected[p] === undefined) ||
      required.some((p) => !actual.includes(p))
    ) {
      problems.push(
        `${what}: host paths ${JSON.stringify(actual)}, expected ${JSON.stringify(Object.keys(expected).sort())}`,
      );
    }
    for (const c of [...list(spec.initContainers), ...list(spec.containers)].filter(isObject)) {
      for (const mount of list(c.volumeMounts).filter(isObject)) {
        const path = hostPaths.get(str(mount.name) ?? '');
        const rule = path === undefined ? undefined : expected[path];
        if (path === undefined || rule === undefined) continue;
        const owner = rule.onlyContainer ?? str(container.name);
        if (str(c.name) !== owner) {
          problems.push(
            `${what}: container ${show(c.name)} mounts host path ${path}; only ${show(owner)} may`,
          );
        } else if ((mount.readOnly === true) !== rule.readOnly) {
          problems.push(
            `${what}: host path ${path} must be mounted ${rule.readOnly ? 'read-only' : 'writable'}`,
          );
        }
      }
    }

    // Every variable the manifest sets is one the service reads.
    const names = list(container.env)
      .filter(isObject)
      .map((e) => str(e.name) ?? '');
    for (const source of list(container.envFrom).filter(isObject)) {
      const ref = isObject(source.configMapRef) ? str(source.configMapRef.name) : undefined;
      const configMap = ref === undefined ? undefined : find('ConfigMap', ref);
      if (ref !== undefined && configMap === undefined)
        problems.push(`${what}: ConfigMap ${ref} not found`);
      if (configMap !== undefined && isObject(configMap.data))
        names.push(...Object.keys(configMap.data));
    }
    for (const env of names) {
      if (!facts.settings.has(env) && !EXPANSION_ONLY.has(env) && !RUNTIME_SETTINGS.has(env)) {
        problems.push(`${what}: ${env} is not a setting of ${name} (src/config.ts)`);
      }
    }
    if (!names.includes('PORT')) problems.push(`${what}: PORT not set`);
  }

  // Least privilege in PostgreSQL (docs/operations.md, "Database roles"): the ledger owner's
  // Secret reaches only the migrate init containers; the services run as the app role and never
  // migrate themselves.
  problems.push(...databaseRoleProblems(manifests, find));

  // References to ConfigMaps, Secrets and PVCs resolve within the render, or name a Secret that
  // is created outside it (EXTERNAL_SECRETS) or by Strimzi (a KafkaUser's, a cluster's CA).
  const secretKeys = (name: string): readonly string[] | 'any' | undefined => {
    const secret = find('Secret', name);
    if (secret !== undefined) return Object.keys(isObject(secret.data) ? secret.data : {});
    const external = EXTERNAL_SECRETS[name];
    if (external !== undefined) return external.length === 0 ? 'any' : external;
    if (byKind('KafkaUser').some((u) => u.metadata.name === name)) return KAFKA_USER_SECRET_KEYS;
    if (byKind('Kafka').some((k) => `${k.metadata.name}-cluster-ca-cert` === name)) {
      return CLUSTER_CA_SECRET_KEYS;
    }
    return undefined;
  };
  const secretRefProblem = (
    m: Manifest,
    name: string | undefined,
    keys: readonly string[],
  ): string | null => {
    const known = secretKeys(name ?? '');
    if (known === undefined) return `${describeManifest(m)}: Secret ${show(name)} not found`;
    const missing = known === 'any' ? [] : keys.filter((k) => !known.includes(k));
    return missing.length === 0
      ? null
      : `${describeManifest(m)}: Secret ${show(name)} key ${missing.join(', ')} not found`;
  };
  for (const m of manifests) {
    for (const spec of podSpecs(m)) {
      const containers = [...list(spec.initContainers), ...list(spec.containers)].filter(isObject);
      for (const container of containers) {
        for (const env of list(container.env).filter(isObject)) {
          const from = isObject(env.valueFrom) ? env.valueFrom : {};
          const cmRef = isObject(from.configMapKeyRef) ? from.configMapKeyRef : undefined;
          if (cmRef !== undefined) {
            const target = find('ConfigMap', str(cmRef.name) ?? '');
            const data = target !== undefined && isObject(target.data) ? target.data : {};
            if (target === undefined || !Object.hasOwn(data, str(cmRef.key) ?? '')) {
              problems.push(
                `${describeManifest(m)}: ConfigMap ${show(cmRef.name)} key ${show(cmRef.key)} not found`,
              );
            }
          }
          const secretRef = isObject(from.secretKeyRef) ? from.secretKeyRef : undefined;
          if (secretRef !== undefined) {
            const problem = secretRefProblem(m, str(secretRef.name), [str(secretRef.key) ?? '']);
            if (problem !== null) problems.push(problem);
          }
        }
      }
      for (const v of list(spec.volumes).filter(isObject)) {
        const cm = isObject(v.configMap) ? str(v.configMap.name) : undefined;
        if (cm !== undefined && find('ConfigMap', cm) === undefined) {
          problems.push(`${describeManifest(m)}: volume ConfigMap ${cm} not found`);
        }
        const secrets: {
          name: string | undefined;
          items: JsonValue | undefined;
          optional: boolean;
        }[] = [];
        if (isObject(v.secret)) {
          const { secretName, items, optional } = v.secret;
          secrets.push({ name: str(secretName), items, optional: optional === true });
        }
        if (isObject(v.projected)) {
          for (const source of list(v.projected.sources).filter(isObject)) {
            if (!isObject(source.secret)) continue;
            const { name: secretName, items, optional } = source.secret;
            secrets.push({ name: str(secretName), items, optional: optional === true });
          }
        }
        for (const secret of secrets) {
          if (secret.optional && find('Secret', secret.name ?? '') === undefined) continue;
          const keys = list(secret.items)
            .filter(isObject)
            .map((i) => str(i.key) ?? '');
          const problem = secretRefProblem(m, secret.name, keys);
          if (problem !== null) problems.push(problem);
        }
        const pvc = isObject(v.persistentVolumeClaim)
          ? str(v.persistentVolumeClaim.claimName)
          : undefined;
        if (pvc !== undefined && find('PersistentVolumeClaim', pvc) === undefined) {
          problems.push(`${describeManifest(m)}: PersistentVolumeClaim ${pvc} not found`);
        }
      }
    }
    // Selectors select the pods of their own template.
    const spec = isObject(m.spec) ? m.spec : {};
    const selector =
      isObject(spec.selector) && isObject(spec.selector.matchLabels)
        ? spec.selector.matchLabels
        : undefined;
    const template =
      isObject(spec.template) && isObject(spec.template.metadata)
        ? spec.template.metadata.labels
        : undefined;
    if (selector !== undefined && isObject(template)) {
      for (const [k, v] of Object.entries(selector)) {
        if (template[k] !== v)
          problems.push(`${describeManifest(m)}: selector ${k}=${show(v)} does not match its pods`);
      }
    }
  }

  // billing-api: Service + HPA owning the replica count.
  const hpa = find('HorizontalPodAutoscaler', 'billing-api');
  const hpaSpec = hpa !== undefined && isObject(hpa.spec) ? hpa.spec : undefined;
  const target =
    hpaSpec !== undefined && isObject(hpaSpec.scaleTargetRef) ? hpaSpec.scaleTargetRef : undefined;
  if (target?.kind !== 'Deployment' || target.name !== 'billing-api') {
    problems.push('billing-api: no HorizontalPodAutoscaler on its Deployment');
  } else if (
    typeof hpaSpec?.minReplicas !== 'number' ||
    typeof hpaSpec.maxReplicas !== 'number' ||
    hpaSpec.minReplicas > hpaSpec.maxReplicas
  ) {
    problems.push('billing-api: HorizontalPodAutoscaler needs minReplicas <= maxReplicas');
  }
  const billing = find('Deployment', 'billing-api');
  if (billing !== undefined && isObject(billing.spec) && billing.spec.replicas !== undefined) {
    problems.push('billing-api: Deployment sets replicas although the HPA owns them');
  }
  const service = find('Service', 'billing-api');
  if (service === undefined) problems.push('billing-api: no Service');

  // Kafka: the three topics; rating's replicas within the samples topic's partitions.
  const topics = new Map(
    byKind('KafkaTopic').map((t) => [
      isObject(t.spec) ? (str(t.spec.topicName) ?? t.metadata.name) : t.metadata.name,
      t,
    ]),
  );
  for (const topic of [SAMPLES_TOPIC, 'billing.usage.v1', 'metering.samples.dlq.v1']) {
    if (!topics.has(topic)) problems.push(`KafkaTopic ${topic} missing`);
  }
  const samples = topics.get(SAMPLES_TOPIC);
  const partitions =
    samples !== undefined && isObject(samples.spec) ? samples.spec.partitions : undefined;
  if (partitions !== 12)
    problems.push(`KafkaTopic ${SAMPLES_TOPIC}: 12 partitions expected, found ${show(partitions)}`);
  const rating = find('Deployment', 'rating');
  const replicas = rating !== undefined && isObject(rating.spec) ? rating.spec.replicas : undefined;
  if (typeof replicas !== 'number' || typeof partitions !== 'number' || replicas > partitions) {
    problems.push(
      `rating: replicas ${show(replicas)} must be <= ${SAMPLES_TOPIC}'s ${show(partitions)} partitions`,
    );
  }
  const brokers = byKind('KafkaNodePool')
    .filter((p) => isObject(p.spec) && list(p.spec.roles).includes('broker'))
    .reduce(
      (n, p) => n + (isObject(p.spec) && typeof p.spec.replicas === 'number' ? p.spec.replicas : 0),
      0,
    );
  for (const [name, topic] of topics) {
    const spec = isObject(topic.spec) ? topic.spec : {};
    const rf = typeof spec.replicas === 'number' ? spec.replicas : 0;
    const minIsr = isObject(spec.config) ? Number(spec.config['min.insync.replicas'] ?? 1) : 1;
    if (rf < 1 || rf > brokers)
      problems.push(`KafkaTopic ${name}: ${rf} replicas on ${brokers} broker(s)`);
    if (minIsr > rf)
      problems.push(`KafkaTopic ${name}: min.insync.replicas ${minIsr} > replicas ${rf}`);
  }
  const kafka = byKind('Kafka')[0];
  const kafkaConfig =
    kafka !== undefined &&
    isObject(kafka.spec) &&
    isObject(kafka.spec.kafka) &&
    isObject(kafka.spec.kafka.config)
      ? kafka.spec.kafka.config
      : {};
  for (const key of [
    'offsets.topic.replication.factor',
    'transaction.state.log.replication.factor',
    'default.replication.factor',
  ]) {
    if (Number(kafkaConfig[key] ?? 0) > brokers)
      problems.push(`Kafka: ${key} ${show(kafkaConfig[key])} > ${brokers} broker(s)`);
  }

  // No real secrets: every Secret value is a marked development value (or a user name).
  for (const secret of byKind('Secret')) {
    const data = isObject(secret.data) ? secret.data : {};
    for (const [key, value] of Object.entries(data)) {
      const text = Buffer.from(str(value) ?? '', 'base64').toString('utf8');
      if (key !== 'username' && !text.startsWith(DEV_SECRET_PREFIX)) {
        problems.push(`${describeManifest(secret)}: ${key} is not a ${DEV_SECRET_PREFIX} value`);
      }
    }
  }

  // Only the proxy reaches the Docker (or containerd) socket, in any workload.
  for (const m of manifests) {
    for (const spec of podSpecs(m)) {
      const engineVolumes = new Set(
        list(spec.volumes)
          .filter(isObject)
          .filter(
            (v) =>
              isObject(v.hostPath) &&
              ENGINE_SOCKET_PATHS.includes((str(v.hostPath.path) ?? '').replace(/\/+$/, '')),
          )
          .map((v) => str(v.name) ?? ''),
      );
      for (const c of [...list(spec.initContainers), ...list(spec.containers)].filter(isObject)) {
        const mounts = list(c.volumeMounts).filter(isObject);
        if (
          str(c.name) !== DOCKER_SOCKET_PROXY &&
          mounts.some((mount) => engineVolumes.has(str(mount.name) ?? ''))
        ) {
          problems.push(
            `${describeManifest(m)}: container ${show(c.name)} mounts the engine's socket; only ${DOCKER_SOCKET_PROXY} may`,
          );
        }
      }
    }
  }
  return problems;
}

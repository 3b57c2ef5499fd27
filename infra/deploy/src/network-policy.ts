import { type JsonObject, type JsonValue, type Manifest } from './kustomize';
import { isObject, list } from './json-access';

/**
 * Kubernetes NetworkPolicy semantics (networking.k8s.io/v1), enough to ask of a render whether
 * one connection is allowed: a connection needs the source's egress and the destination's
 * ingress. A pod that no policy of a direction selects is open in that direction; once one
 * selects it, only what some selecting policy's rule allows passes. Peers: podSelector (the
 * policy's namespace), namespaceSelector (with an optional podSelector), ipBlock (addresses
 * outside the cluster only: pod addresses are the CNI's business). Ports: numbers, names
 * resolved on the destination pod, endPort ranges; TCP when unsaid.
 */

export interface PodEndpoint {
  readonly kind: 'pod';
  /** For messages. */
  readonly name: string;
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
  /** Named container ports (what `port: http` resolves to on this pod). */
  readonly ports?: Readonly<Record<string, number>>;
}

export interface ExternalEndpoint {
  readonly kind: 'external';
  readonly name: string;
  /** IPv4 address. */
  readonly ip: string;
}

export type Endpoint = PodEndpoint | ExternalEndpoint;

export interface Connection {
  readonly from: Endpoint;
  readonly to: Endpoint;
  readonly port: number;
  readonly protocol?: 'TCP' | 'UDP';
}

class NetworkPolicyError extends Error {
  readonly code = 'NETWORK_POLICY_UNSUPPORTED';
}

/** Label selector: matchLabels and matchExpressions (In, NotIn, Exists, DoesNotExist). */
export function selects(
  selector: JsonValue | undefined,
  labels: Readonly<Record<string, string>>,
): boolean {
  if (!isObject(selector)) return false;
  const matchLabels = isObject(selector.matchLabels) ? selector.matchLabels : {};
  for (const [key, value] of Object.entries(matchLabels)) {
    if (labels[key] !== value) return false;
  }
  for (const expression of list(selector.matchExpressions)) {
    if (!isObject(expression) || typeof expression.key !== 'string') {
      throw new NetworkPolicyError(`bad matchExpression ${JSON.stringify(expression)}`);
    }
    const value = labels[expression.key];
    const values = list(expression.values).map((v) => (typeof v === 'string' ? v : ''));
    const operator = typeof expression.operator === 'string' ? expression.operator : '';
    switch (operator) {
      case 'In':
        if (value === undefined || !values.includes(value)) return false;
        break;
      case 'NotIn':
        if (value !== undefined && values.includes(value)) return false;
        break;
      case 'Exists':
        if (value === undefined) return false;
        break;
      case 'DoesNotExist':
        if (value !== undefined) return false;
        break;
      default:
        throw new NetworkPolicyError(`unknown operator ${JSON.stringify(expression.operator)}`);
    }
  }
  return true;
}

function namespaceLabels(namespace: string): Record<string, string> {
  return { 'kubernetes.io/metadata.name': namespace };
}

function ipv4(ip: string): number {
  const parts = ip.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) {
    throw new NetworkPolicyError(`not an IPv4 address: ${ip}`);
  }
  return parts.reduce((n, p) => n * 256 + p, 0);
}

/** Whether `ip` lies in `cidr` (IPv4). */
export function inCidr(ip: string, cidr: string): boolean {
  const [base, bitsText] = cidr.split('/');
  const bits = Number(bitsText);
  if (base === undefined || !Number.isInteger(bits) || bits < 0 || bits > 32) {
    throw new NetworkPolicyError(`not an IPv4 CIDR: ${cidr}`);
  }
  const size = 2 ** (32 - bits);
  return Math.floor(ipv4(ip) / size) === Math.floor(ipv4(base) / size);
}

function peerMatches(peer: JsonValue, policyNamespace: string, endpoint: Endpoint): boolean {
  if (!isObject(peer)) return false;
  if (isObject(peer.ipBlock)) {
    if (endpoint.kind !== 'external') return false;
    const text = (v: JsonValue | undefined): string => (typeof v === 'string' ? v : '');
    const cidr = text(peer.ipBlock.cidr);
    const except = list(peer.ipBlock.except).map(text);
    return inCidr(endpoint.ip, cidr) && !except.some((e) => inCidr(endpoint.ip, e));
  }
  if (endpoint.kind !== 'pod') return false;
  if (peer.namespaceSelector !== undefined) {
    if (!selects(peer.namespaceSelector, namespaceLabels(endpoint.namespace))) return false;
    return peer.podSelector === undefined || selects(peer.podSelector, endpoint.labels);
  }
  if (peer.podSelector !== undefined) {
    return endpoint.namespace === policyNamespace && selects(peer.podSelector, endpoint.labels);
  }
  throw new NetworkPolicyError(`a peer without a selector: ${JSON.stringify(peer)}`);
}

function portMatches(
  ports: JsonValue | undefined,
  port: number,
  protocol: string,
  destination: Endpoint,
): boolean {
  const entries = list(ports);
  if (entries.length === 0) return true;
  return entries.some((entry) => {
    if (!isObject(entry)) return false;
    if ((entry.protocol ?? 'TCP') !== protocol) return false;
    if (entry.port === undefined) return true;
    const first =
      typeof entry.port === 'number'
        ? entry.port
        : destination.kind === 'pod'
          ? destination.ports?.[typeof entry.port === 'string' ? entry.port : '']
          : undefined;
    if (first === undefined) return false;
    const last = typeof entry.endPort === 'number' ? entry.endPort : first;
    return port >= first && port <= last;
  });
}

function policyTypes(spec: JsonObject): string[] {
  const types = list(spec.policyTypes).map(String);
  if (types.length > 0) return types;
  return spec.egress === undefined ? ['Ingress'] : ['Ingress', 'Egress'];
}

function selecting(
  policies: readonly Manifest[],
  pod: PodEndpoint,
  direction: 'Ingress' | 'Egress',
): JsonObject[] {
  return policies
    .filter((p) => p.kind === 'NetworkPolicy' && p.metadata.namespace === pod.namespace)
    .map((p) => (isObject(p.spec) ? p.spec : {}))
    .filter((spec) => selects(spec.podSelector, pod.labels))
    .filter((spec) => policyTypes(spec).includes(direction));
}

/** Whether one direction lets the connection through at the pod `at`. */
function sideAllows(
  policies: readonly Manifest[],
  at: Endpoint,
  direction: 'Ingress' | 'Egress',
  connection: Connection,
): boolean {
  if (at.kind !== 'pod') return true;
  const applying = selecting(policies, at, direction);
  if (applying.length === 0) return true;
  const peerEndpoint = direction === 'Egress' ? connection.to : connection.from;
  const protocol = connection.protocol ?? 'TCP';
  return applying.some((spec) =>
    list(direction === 'Egress' ? spec.egress : spec.ingress).some((rule) => {
      if (!isObject(rule)) return false;
      const peers = list(direction === 'Egress' ? rule.to : rule.from);
      const peerOk =
        peers.length === 0 || peers.some((peer) => peerMatches(peer, at.namespace, peerEndpoint));
      return peerOk && portMatches(rule.ports, connection.port, protocol, connection.to);
    }),
  );
}

/** Whether the policies of the render let the connection through (egress and ingress). */
export function allows(policies: readonly Manifest[], connection: Connection): boolean {
  return (
    sideAllows(policies, connection.from, 'Egress', connection) &&
    sideAllows(policies, connection.to, 'Ingress', connection)
  );
}

/** Policies that select the pod in a direction and allow something there (not a bare deny). */
export function allowingPolicies(
  policies: readonly Manifest[],
  pod: PodEndpoint,
  direction: 'Ingress' | 'Egress',
): JsonObject[] {
  return selecting(policies, pod, direction).filter(
    (spec) => list(direction === 'Egress' ? spec.egress : spec.ingress).length > 0,
  );
}

/** A namespace-wide policy that denies both directions and allows nothing. */
export function isDefaultDeny(policy: Manifest): boolean {
  const spec = isObject(policy.spec) ? policy.spec : {};
  const selector = isObject(spec.podSelector) ? spec.podSelector : undefined;
  return (
    policy.kind === 'NetworkPolicy' &&
    selector !== undefined &&
    Object.keys(selector).length === 0 &&
    policyTypes(spec).includes('Ingress') &&
    policyTypes(spec).includes('Egress') &&
    list(spec.ingress).length === 0 &&
    list(spec.egress).length === 0
  );
}

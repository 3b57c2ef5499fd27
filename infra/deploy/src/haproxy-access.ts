/**
 * What an HAProxy frontend lets through, for the constructs docker-collector's socket proxy uses
 * (k8s/base/docker-socket-proxy/haproxy.cfg): `acl <name> method <M>...`, `acl <name> path_reg
 * <regex>`, and `http-request deny|allow [deny_status N] [if|unless <acl>...]` evaluated in order
 * (acls in one condition are ANDed, `!` negates). Anything else in the frontend that could change
 * what passes (another http-request action, `or`, other fetches) is an error, not a guess.
 */

export class HaproxyConfigError extends Error {
  readonly code = 'HAPROXY_CONFIG_UNSUPPORTED';
}

type Acl = (request: { method: string; path: string }) => boolean;

interface Rule {
  action: 'allow' | 'deny';
  condition: ((request: { method: string; path: string }) => boolean) | null;
}

export interface Frontend {
  readonly name: string;
  readonly binds: readonly string[];
  /** Whether the request gets to a backend (true) or is refused by the proxy (false). */
  passes(method: string, path: string): boolean;
}

/** Sections as lists of lines (comments and blank lines dropped). */
function sections(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const raw of text.split('\n')) {
    const line = raw
      .replace(/\s+#.*$/, '')
      .replace(/^#.*$/, '')
      .trim();
    if (line === '') continue;
    const header = /^(global|defaults|frontend|backend|listen)\b\s*(\S*)/.exec(line);
    if (header !== null && !/^\s/.test(raw)) {
      current = [];
      out.set(`${header[1] ?? ''} ${header[2] ?? ''}`.trim(), current);
      continue;
    }
    if (current === undefined) throw new HaproxyConfigError(`line outside a section: ${line}`);
    current.push(line);
  }
  return out;
}

export function parseFrontend(text: string, name: string): Frontend {
  const all = sections(text);
  if ([...all.keys()].some((k) => k.startsWith('listen'))) {
    throw new HaproxyConfigError('listen sections are not supported');
  }
  const lines = all.get(`frontend ${name}`);
  if (lines === undefined) throw new HaproxyConfigError(`no frontend ${name}`);
  const acls = new Map<string, Acl[]>();
  const rules: Rule[] = [];
  const binds: string[] = [];
  for (const line of lines) {
    const words = line.split(/\s+/);
    const [keyword] = words;
    if (keyword === 'bind') binds.push(words[1] ?? '');
    else if (keyword === 'acl') {
      const [, aclName, fetch, ...args] = words;
      if (aclName === undefined || args.length === 0) throw new HaproxyConfigError(line);
      let acl: Acl;
      if (fetch === 'method') acl = ({ method }) => args.includes(method);
      else if (fetch === 'path_reg') {
        const regex = new RegExp(args.join(' '));
        acl = ({ path }) => regex.test(path);
      } else throw new HaproxyConfigError(`unsupported fetch in: ${line}`);
      acls.set(aclName, [...(acls.get(aclName) ?? []), acl]);
    } else if (keyword === 'http-request') {
      const action = words[1];
      if (action !== 'deny' && action !== 'allow') {
        throw new HaproxyConfigError(`unsupported http-request action in: ${line}`);
      }
      let rest = words.slice(2);
      if (rest[0] === 'deny_status') rest = rest.slice(2);
      let condition: Rule['condition'] = null;
      if (rest.length > 0) {
        const [kind, ...terms] = rest;
        if ((kind !== 'if' && kind !== 'unless') || terms.length === 0 || terms.includes('or')) {
          throw new HaproxyConfigError(`unsupported condition in: ${line}`);
        }
        const checks = terms.map((term) => {
          const negated = term.startsWith('!');
          const list = acls.get(negated ? term.slice(1) : term);
          if (list === undefined) throw new HaproxyConfigError(`unknown acl ${term} in: ${line}`);
          // Several `acl` lines of one name are ORed.
          return (r: { method: string; path: string }) => list.some((a) => a(r)) !== negated;
        });
        const all = (r: { method: string; path: string }) => checks.every((c) => c(r));
        condition = kind === 'if' ? all : (r) => !all(r);
      }
      rules.push({ action, condition });
    } else if (
      !['timeout', 'use_backend', 'default_backend', 'mode', 'log', 'option'].includes(
        keyword ?? '',
      )
    ) {
      throw new HaproxyConfigError(`unsupported frontend keyword in: ${line}`);
    }
  }
  return {
    name,
    binds,
    passes(method: string, path: string): boolean {
      for (const rule of rules) {
        if (rule.condition === null || rule.condition({ method, path })) {
          return rule.action === 'allow';
        }
      }
      return true;
    },
  };
}

/** The servers of every backend (a unix socket path or host:port). */
export function backendServers(text: string): string[] {
  const servers: string[] = [];
  for (const [section, lines] of sections(text)) {
    if (!section.startsWith('backend')) continue;
    for (const line of lines) {
      const words = line.split(/\s+/);
      if (words[0] === 'server') servers.push(words[2] ?? '');
    }
  }
  return servers;
}

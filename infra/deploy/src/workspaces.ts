import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/** The repository root, from infra/deploy/dist/src or infra/deploy/src. */
export const REPO_ROOT = join(__dirname, __dirname.includes('/dist/') ? '../../../..' : '../../..');

export interface ServiceFacts {
  /** Folder name under services/ (also the image and compose service name). */
  readonly name: string;
  /** npm workspace name, e.g. @metering/rating. */
  readonly packageName: string;
  /** Entry point from package.json "main" (dist/src/main.js). */
  readonly main: string;
  /** Default HTTP port from src/config.ts. */
  readonly port: number;
  /** Workspace folders whose compiled output the service needs at run time (libs/x). */
  readonly runtimeWorkspaces: readonly string[];
  /** Every environment variable name the service reads (its config.ts and the libs' readers). */
  readonly settings: ReadonlySet<string>;
}

interface PackageJson {
  name: string;
  main?: string;
  dependencies?: Record<string, string>;
}

function readPackage(dir: string): PackageJson {
  return JSON.parse(readFileSync(join(REPO_ROOT, dir, 'package.json'), 'utf8')) as PackageJson;
}

/** Workspace folder of every @metering/* package (libs/*, services/*, infra/*). */
function workspaceFolders(): Map<string, string> {
  const folders = new Map<string, string>();
  for (const parent of ['libs', 'services', 'infra']) {
    const base = join(REPO_ROOT, parent);
    if (!existsSync(base)) continue;
    for (const entry of readdirSync(base)) {
      const dir = `${parent}/${entry}`;
      if (existsSync(join(REPO_ROOT, dir, 'package.json'))) folders.set(readPackage(dir).name, dir);
    }
  }
  return folders;
}

/** The libs/ folders reachable through "dependencies" (not devDependencies), transitively. */
function runtimeWorkspaceClosure(serviceDir: string): string[] {
  const folders = workspaceFolders();
  const seen = new Set<string>();
  const visit = (dir: string): void => {
    for (const dep of Object.keys(readPackage(dir).dependencies ?? {})) {
      const folder = folders.get(dep);
      if (folder === undefined || seen.has(folder)) continue;
      seen.add(folder);
      visit(folder);
    }
  };
  visit(serviceDir);
  return [...seen].sort();
}

/** Names read through process.env-like objects: ENV_NAME keys of zod schemas, env.NAME, env['NAME']. */
function settingNames(source: string): Set<string> {
  const names = new Set<string>();
  for (const match of source.matchAll(
    /\b([A-Z][A-Z0-9_]{2,})\s*:\s*(?:z\s*\.|integer\(|durationMs\(|boolean\(|listenHost\(|listenPort\(|logLevel\(|nodeEnv\(|positiveInt|wholeNumber|bool\b|list\b)/g,
  )) {
    names.add(match[1] ?? '');
  }
  for (const match of source.matchAll(/env(?:\?)?\.([A-Z][A-Z0-9_]{2,})/g))
    names.add(match[1] ?? '');
  for (const match of source.matchAll(/env\[\s*'([A-Z][A-Z0-9_]{2,})'\s*\]/g))
    names.add(match[1] ?? '');
  // Tables of setting → variable name (libs/kafka, libs/spool): 'KAFKA_RETRIES' string literals.
  for (const match of source.matchAll(/'((?:KAFKA|SPOOL|HOST_AUTH)_[A-Z0-9_]+)'/g)) {
    names.add(match[1] ?? '');
  }
  names.delete('');
  return names;
}

/** Where a lib reads its own settings, and the function a service's config.ts calls for them. */
const LIB_SETTING_READERS: readonly { lib: string; fn: RegExp; files: readonly string[] }[] = [
  {
    lib: 'libs/kafka',
    fn: /\bkafkaConfigFromEnv\b/,
    files: ['libs/kafka/src/kafka.config.ts', 'libs/kafka/src/kafka-security.config.ts'],
  },
  {
    lib: 'libs/kafka',
    fn: /\bhostKey(?:s|File)FromEnv\b/,
    files: ['libs/kafka/src/host-auth.config.ts'],
  },
  { lib: 'libs/spool', fn: /\bspoolSettingsFromEnv\b/, files: ['libs/spool/src/spool.config.ts'] },
  // The collectors' publishing settings, read for them by libs/spool (sample-publisher.config.ts):
  // libs/kafka's Kafka and host-key readers, then the spool's.
  {
    lib: 'libs/spool',
    fn: /\bcollectorPublishingFromEnv\b/,
    files: [
      'libs/kafka/src/kafka.config.ts',
      'libs/kafka/src/kafka-security.config.ts',
      'libs/kafka/src/host-auth.config.ts',
      'libs/spool/src/spool.config.ts',
    ],
  },
  // The common settings of libs/config a service's schema spreads in.
  {
    lib: 'libs/config',
    fn: /\bDATABASE_SETTINGS\b/,
    files: ['libs/config/src/database.settings.ts'],
  },
  {
    lib: 'libs/config',
    fn: /\bcollectorSettings\b/,
    files: ['libs/config/src/collector.settings.ts'],
  },
];

export function serviceFacts(name: string): ServiceFacts {
  const dir = `services/${name}`;
  const pkg = readPackage(dir);
  // config.ts, and the *.config.ts beside it that it reads its parts with (billing-api's
  // automation.config.ts).
  const configSource = [
    'config.ts',
    ...readdirSync(join(REPO_ROOT, dir, 'src')).filter((f) => f.endsWith('.config.ts')),
  ]
    .map((f) => readFileSync(join(REPO_ROOT, dir, 'src', f), 'utf8'))
    .join('\n');
  const port = /\bPORT\s*:[^\n]*?(?:default|listenPort)\((\d+)\)/.exec(configSource)?.[1];
  if (port === undefined) throw new Error(`${dir}/src/config.ts: no PORT default found`);
  const runtimeWorkspaces = runtimeWorkspaceClosure(dir);
  const settings = settingNames(configSource);
  // A library's settings count only when the service's config.ts hands it the environment.
  for (const { lib, fn, files } of LIB_SETTING_READERS) {
    if (runtimeWorkspaces.includes(lib) && fn.test(configSource)) {
      for (const file of files) {
        for (const setting of settingNames(readFileSync(join(REPO_ROOT, file), 'utf8'))) {
          settings.add(setting);
        }
      }
    }
  }
  return {
    name,
    packageName: pkg.name,
    main: pkg.main ?? 'dist/src/main.js',
    port: Number(port),
    runtimeWorkspaces,
    settings,
  };
}

/**
 * The services that ship as images: every services/* with a package.json and a process of its
 * own (src/main.ts). services/portal is a web app that billing-api serves: no image of its own.
 */
export function serviceNames(): string[] {
  return readdirSync(join(REPO_ROOT, 'services'))
    .filter(
      (entry) =>
        existsSync(join(REPO_ROOT, 'services', entry, 'package.json')) &&
        existsSync(join(REPO_ROOT, 'services', entry, 'src', 'main.ts')),
    )
    .sort();
}

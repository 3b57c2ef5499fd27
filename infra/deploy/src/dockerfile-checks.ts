import { type Copy, DockerfileParser, type Env, type From, type Instruction } from 'dockerfile-ast';

/**
 * Static checks of a service's Dockerfile, because no image can be built here (no registry to
 * pull the base from). Each returns a list of problems; an empty list is a pass.
 */

/** node 20 on Debian 12 (bookworm), slim, a full version pinned, optionally a digest. */
export const BASE_IMAGE = /^node:20\.\d+\.\d+-bookworm-slim(@sha256:[0-9a-f]{64})?$/;

export interface DockerfileExpectations {
  /** services/<name>. */
  readonly name: string;
  /** @metering/<name>. */
  readonly packageName: string;
  /** The port the service listens on (EXPOSE, ENV PORT, HEALTHCHECK). */
  readonly port: number;
  /** package.json main, relative to the service folder. */
  readonly main: string;
  /** libs/ folders the service needs at run time (their dist/src, nothing else). */
  readonly runtimeWorkspaces: readonly string[];
  /** Root is accepted only for services that need it, with a comment saying why. */
  readonly mayRunAsRoot: boolean;
  /** Debian packages the runtime stage must install (libvirt0 for vm-collector). */
  readonly runtimePackages: readonly string[];
  /** Debian packages the build stages must install (libvirt-dev … for the libvirt addon). */
  readonly buildPackages: readonly string[];
  /**
   * Web apps the service serves as static files (billing-api: the tenant portal): each is built
   * in a stage of its own name (`npm ci -w @metering/<app>` and `npm run build -w @metering/<app>`)
   * and only its services/<app>/dist is copied into the runtime.
   */
  readonly webApps?: readonly string[];
}

interface Stage {
  readonly from: From;
  readonly name: string | undefined;
  readonly instructions: Instruction[];
}

function stages(instructions: Instruction[]): Stage[] {
  const result: { from: From; name: string | undefined; instructions: Instruction[] }[] = [];
  for (const instruction of instructions) {
    if (instruction.getKeyword() === 'FROM') {
      const from = instruction as From;
      result.push({ from, name: from.getBuildStage() ?? undefined, instructions: [] });
    } else result[result.length - 1]?.instructions.push(instruction);
  }
  return result;
}

const argsOf = (i: Instruction): string => i.getArgumentsContent() ?? '';
const keyword = (i: Instruction): string => i.getKeyword();

/** Packages named by `apt-get install` in a stage's RUN instructions. */
function aptPackages(stage: Stage): Set<string> {
  const packages = new Set<string>();
  for (const run of stage.instructions.filter((i) => keyword(i) === 'RUN')) {
    for (const match of argsOf(run).matchAll(/apt-get install([^&;|]*)/g)) {
      for (const word of (match[1] ?? '').split(/\s+/)) {
        if (word !== '' && !word.startsWith('-') && word !== '\\') packages.add(word);
      }
    }
  }
  return packages;
}

export function checkServiceDockerfile(text: string, want: DockerfileExpectations): string[] {
  const problems: string[] = [];
  const dockerfile = DockerfileParser.parse(text);
  const instructions = dockerfile.getInstructions();
  const all = stages(instructions);
  const names = new Set(all.map((s) => s.name).filter((n): n is string => n !== undefined));

  // Base image: one ARG, pinned, used by every stage that is not built from another stage.
  const nodeImage = dockerfile
    .getARGs()
    .map((arg) => arg.getProperty())
    .find((p) => p?.getName() === 'NODE_IMAGE')
    ?.getValue();
  if (nodeImage === undefined || nodeImage === null || !BASE_IMAGE.test(nodeImage)) {
    problems.push(`ARG NODE_IMAGE must pin ${String(BASE_IMAGE)}, is ${String(nodeImage)}`);
  }
  for (const stage of all) {
    const image = stage.from.getImage() ?? '';
    if (image !== '${NODE_IMAGE}' && !names.has(image)) {
      problems.push(`FROM ${image}: every stage starts from \${NODE_IMAGE} or an earlier stage`);
    }
  }

  if (all.length < 3) problems.push(`multi-stage build expected, found ${all.length} stage(s)`);
  const runtime = all[all.length - 1];
  if (runtime === undefined) return [...problems, 'no FROM'];
  const build = all.find((s) => s.name === 'build');
  const prodDeps = all.find((s) => s.name === 'prod-deps');
  if (build === undefined) problems.push('no stage named build');
  if (prodDeps === undefined) problems.push('no stage named prod-deps');

  // npm: the lockfile, the service's workspace only; production deps for the runtime.
  const runs = (stage: Stage | undefined): string[] =>
    stage?.instructions.filter((i) => keyword(i) === 'RUN').map(argsOf) ?? [];
  const ci = (stage: Stage | undefined): string | undefined =>
    runs(stage).find((r) => /\bnpm ci\b/.test(r));
  for (const [stage, label] of [
    [build, 'build'],
    [prodDeps, 'prod-deps'],
  ] as const) {
    const command = ci(stage);
    if (command === undefined) problems.push(`${label}: no npm ci (install from the lockfile)`);
    else if (!new RegExp(`(-w|--workspace)[ =]${want.packageName}(\\s|$)`).test(command)) {
      problems.push(`${label}: npm ci must select the workspace: -w ${want.packageName}`);
    }
  }
  if (ci(prodDeps) !== undefined && !/--omit=dev\b/.test(ci(prodDeps) ?? '')) {
    problems.push('prod-deps: npm ci needs --omit=dev');
  }
  for (const stage of all) {
    for (const run of runs(stage)) {
      if (/\bnpm (install|i)\b/.test(run))
        problems.push(`${stage.name ?? '?'}: npm install (use npm ci)`);
    }
  }
  if (!runs(build).some((r) => r.includes(`tsc -b services/${want.name}`))) {
    problems.push(`build: no tsc -b services/${want.name}`);
  }

  // Runtime: production node_modules plus exactly the compiled output the service needs.
  const copies = runtime.instructions.filter((i) => keyword(i) === 'COPY') as Copy[];
  const wantedDist = new Set(
    [...want.runtimeWorkspaces, `services/${want.name}`].map((w) => `${w}/dist/src`),
  );
  const copiedDist = new Set<string>();
  for (const copy of copies) {
    const from = copy.getFromFlag()?.getValue();
    const [source, destination] = argsOf(copy).split(/\s+/);
    if (from === undefined || from === null) {
      problems.push(
        `runtime: COPY ${argsOf(copy)} takes files from the build context (copy from a stage)`,
      );
    } else if (from === 'prod-deps') {
      if (source !== '/app')
        problems.push(`runtime: COPY --from=prod-deps ${source ?? ''}: expected /app`);
    } else if (from === 'build') {
      const path = (source ?? '').replace(/^\/app\//, '');
      if (!wantedDist.has(path) || destination !== path) {
        problems.push(
          `runtime: COPY --from=build ${source ?? ''} ${destination ?? ''} is not a needed dist/src`,
        );
      }
      copiedDist.add(path);
    } else if (want.webApps?.includes(from) === true) {
      const path = `services/${from}/dist`;
      if (source !== `/app/${path}` || destination !== path) {
        problems.push(
          `runtime: COPY --from=${from} ${source ?? ''} ${destination ?? ''}: expected /app/${path} ${path}`,
        );
      }
      copiedDist.add(path);
    } else problems.push(`runtime: COPY --from=${from}: unexpected stage`);
  }
  for (const app of want.webApps ?? []) {
    const stage = all.find((st) => st.name === app);
    if (stage === undefined) {
      problems.push(`no stage named ${app} building the web app`);
      continue;
    }
    if (!new RegExp(`(-w|--workspace)[ =]@metering/${app}(\\s|$)`).test(ci(stage) ?? '')) {
      problems.push(`${app}: npm ci must select the workspace: -w @metering/${app}`);
    }
    if (!runs(stage).some((r) => r.includes(`npm run build -w @metering/${app}`))) {
      problems.push(`${app}: no npm run build -w @metering/${app}`);
    }
    if (!copiedDist.has(`services/${app}/dist`)) {
      problems.push(`runtime: services/${app}/dist (the built web app) is not copied`);
    }
  }
  for (const path of wantedDist) {
    if (!copiedDist.has(path))
      problems.push(`runtime: ${path} is needed at run time but not copied`);
  }
  if (!copies.some((c) => c.getFromFlag()?.getValue() === 'prod-deps')) {
    problems.push('runtime: production node_modules (COPY --from=prod-deps /app ./) missing');
  }

  // User: the last USER of the runtime stage decides.
  const users = runtime.instructions.filter((i) => keyword(i) === 'USER');
  const user =
    users.length > 0 ? argsOf(users[users.length - 1] as Instruction).split(':')[0] : 'root';
  const isRoot = user === 'root' || user === '0';
  if (isRoot && !want.mayRunAsRoot) problems.push(`runs as ${user}: use a non-root USER (node)`);
  if (isRoot && want.mayRunAsRoot) {
    const last = users[users.length - 1];
    const line = last?.getRange().start.line ?? -1;
    const comment = dockerfile
      .getComments()
      .filter((c) => c.getRange().start.line < line && c.getRange().start.line >= line - 6)
      .map((c) => c.getContent() ?? '')
      .join(' ');
    if (!/root/i.test(comment))
      problems.push('runs as root without a comment above USER saying why');
  }

  // Port, health and entry point.
  const envs = new Map<string, string>();
  for (const env of runtime.instructions.filter((i) => keyword(i) === 'ENV') as Env[]) {
    for (const property of env.getProperties())
      envs.set(property.getName(), property.getValue() ?? '');
  }
  if (envs.get('PORT') !== String(want.port)) {
    problems.push(`runtime: ENV PORT=${want.port} expected, found ${String(envs.get('PORT'))}`);
  }
  if (envs.get('NODE_ENV') !== 'production')
    problems.push('runtime: ENV NODE_ENV=production missing');
  const exposed = runtime.instructions.filter((i) => keyword(i) === 'EXPOSE').map(argsOf);
  if (!exposed.some((e) => e.split(/\s+/).includes(String(want.port)))) {
    problems.push(`runtime: EXPOSE ${want.port} missing`);
  }
  const health = runtime.instructions.find((i) => keyword(i) === 'HEALTHCHECK');
  if (health === undefined) problems.push('runtime: no HEALTHCHECK');
  else {
    const args = argsOf(health);
    // Liveness: Swarm and similar replace unhealthy containers, which a dependency's outage
    // must not cause (compose overrides this with /readyz for depends_on).
    if (!args.includes('/livez') || !args.includes(String(want.port))) {
      problems.push(`runtime: HEALTHCHECK must request /livez on ${want.port}`);
    }
    const timeout = /--timeout=(\d+)s/.exec(health.getTextContent())?.[1];
    if (timeout === undefined || Number(timeout) <= 3) {
      problems.push('runtime: HEALTHCHECK --timeout must exceed the 3 s a health check may take');
    }
  }
  const cmd = runtime.instructions.find((i) => keyword(i) === 'CMD');
  const workdirs = runtime.instructions.filter((i) => keyword(i) === 'WORKDIR').map(argsOf);
  if (workdirs[workdirs.length - 1] !== `/app/services/${want.name}`) {
    problems.push(`runtime: last WORKDIR must be /app/services/${want.name}`);
  }
  if (
    cmd === undefined ||
    !argsOf(cmd).includes(`"${want.main}"`) ||
    !argsOf(cmd).startsWith('["node"')
  ) {
    problems.push(`runtime: CMD ["node", …, "${want.main}"] expected`);
  }

  // Debian packages: build tools only where they are needed, never in the runtime.
  const runtimeApt = aptPackages(runtime);
  for (const pkg of want.runtimePackages) {
    if (!runtimeApt.has(pkg)) problems.push(`runtime: apt-get install ${pkg} missing`);
  }
  for (const pkg of runtimeApt) {
    if (/(-dev$|^g\+\+$|^gcc$|^make$|^python3$|^build-essential$)/.test(pkg)) {
      problems.push(`runtime: build tool ${pkg} installed in the runtime stage`);
    }
  }
  for (const [stage, label] of [
    [build, 'build'],
    [prodDeps, 'prod-deps'],
  ] as const) {
    if (stage === undefined) continue;
    const apt = aptPackages(stage);
    for (const pkg of want.buildPackages) {
      if (!apt.has(pkg)) problems.push(`${label}: apt-get install ${pkg} missing`);
    }
  }
  return problems;
}

/** Entries a root .dockerignore must have: nothing installed, compiled or local in the context. */
export const DOCKERIGNORE_REQUIRED = ['**/node_modules', '**/dist', '.git', '.stack', '.env'];

/** The ENV of a Dockerfile's last (runtime) stage: the settings every container of it starts with. */
export function runtimeEnv(text: string): Map<string, string> {
  const all = stages(DockerfileParser.parse(text).getInstructions());
  const envs = new Map<string, string>();
  for (const env of (all.at(-1)?.instructions ?? []).filter((i) => keyword(i) === 'ENV') as Env[]) {
    for (const property of env.getProperties()) {
      envs.set(property.getName(), property.getValue() ?? '');
    }
  }
  return envs;
}

import Module, { createRequire } from 'node:module';
import type Dockerode from 'dockerode';

// dockerode without the two parts a collector never uses, which every host paid for at rest
// (~11 MB of RSS, ~4 MB of heap and 155 modules of the collector's ~1,070): BuildKit sessions
// (dockerode/lib/session.js, with @grpc/grpc-js and protobufjs: image builds only) and
// docker-modem's SSH transport (ssh2: `ssh://` engines; the collector talks to the engine's Unix
// socket). Each is put in Node's require cache, before dockerode is loaded, as a stand-in that
// throws if it is ever used, so dockerode's own requires get the stand-in and never load them.

/** What the stand-ins throw: a build or an SSH engine asked of the collector's dockerode. */
export class DockerodePartLeftOut extends Error {
  constructor(part: string) {
    super(`${part}: not loaded in the docker collector (dockerode.loader.ts)`);
    this.name = 'DockerodePartLeftOut';
  }
}

const fromHere = createRequire(__filename);

/**
 * Puts `exports` in the require cache where `id` resolves from `from`, unless something is there
 * already. An id that does not resolve (another dockerode or docker-modem layout) is left alone:
 * dockerode then loads as it is, whole.
 */
function standIn(from: NodeJS.Require, id: string, exports: unknown): void {
  let path: string;
  try {
    path = from.resolve(id);
  } catch {
    return;
  }
  if (fromHere.cache[path] !== undefined) return;
  const module = new Module(path);
  module.filename = path;
  module.loaded = true;
  module.exports = exports;
  fromHere.cache[path] = module;
}

/** The dockerode constructor, its BuildKit sessions and docker-modem's SSH left out (once). */
export function loadDockerode(): typeof Dockerode {
  const dockerodeMain = fromHere.resolve('dockerode');
  if (fromHere.cache[dockerodeMain] === undefined) {
    const fromDockerode = createRequire(dockerodeMain);
    standIn(fromDockerode, './session', () => {
      throw new DockerodePartLeftOut('BuildKit sessions (dockerode/lib/session)');
    });
    const fromModem = createRequire(fromDockerode.resolve('docker-modem'));
    standIn(fromModem, 'ssh2', {
      Client: class {
        constructor() {
          throw new DockerodePartLeftOut('the SSH transport (ssh2)');
        }
      },
    });
  }
  return fromHere(dockerodeMain) as typeof Dockerode;
}

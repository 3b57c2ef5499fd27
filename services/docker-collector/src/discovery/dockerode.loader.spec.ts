import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

/** Runs `code` in a fresh node (its own require cache) with `loader` the compiled loader's path. */
function inFreshProcess(code: string): Record<string, unknown> {
  const loader = JSON.stringify(join(__dirname, 'dockerode.loader.js'));
  const run = spawnSync(
    process.execPath,
    ['--no-deprecation', '-e', `const loader = require(${loader});\n${code}`],
    { encoding: 'utf8', timeout: 30_000 },
  );
  assert.equal(run.status, 0, run.stderr);
  return JSON.parse(run.stdout) as Record<string, unknown>;
}

test('dockerode loads without BuildKit sessions (gRPC, protobuf) and without the real ssh2', () => {
  const seen = inFreshProcess(`
    const before = new Set(Object.keys(require.cache));
    const Docker = loader.loadDockerode();
    const added = Object.keys(require.cache).filter((m) => !before.has(m));
    const again = loader.loadDockerode() === Docker;
    const docker = new Docker({ socketPath: '/nonexistent/docker.sock' });
    console.log(JSON.stringify({
      added: added.length,
      grpc: added.filter((m) => m.includes('/@grpc/')).length,
      protobuf: added.filter((m) => m.includes('/protobufjs/')).length,
      ssh2: added.filter((m) => m.includes('/ssh2/')).length,
      modem: added.some((m) => m.includes('/docker-modem/')),
      again,
      socketPath: docker.modem.socketPath,
    }));`);
  assert.equal(seen.grpc, 0);
  assert.equal(seen.protobuf, 0);
  // The stand-in's one entry, not ssh2's own files.
  assert.equal(seen.ssh2, 1);
  assert.equal(seen.modem, true);
  assert.ok((seen.added as number) < 100, `${String(seen.added)} modules`);
  assert.equal(seen.again, true);
  assert.equal(seen.socketPath, '/nonexistent/docker.sock');
});

test('what was left out says so when used: an SSH engine, a BuildKit build', () => {
  const seen = inFreshProcess(`
    const Docker = loader.loadDockerode();
    const outcome = (p) => p.then(() => 'resolved', (e) => e.name + ': ' + e.message);
    Promise.all([
      outcome(new Docker({ protocol: 'ssh', host: '127.0.0.1', port: 1 }).ping()),
      outcome(new Docker({ socketPath: '/nonexistent/docker.sock' })
        .buildImage({ context: '/nonexistent', src: [] }, { version: '2' })),
    ]).then(([ssh, build]) => console.log(JSON.stringify({ ssh, build })));`);
  assert.match(String(seen.ssh), /^DockerodePartLeftOut: the SSH transport \(ssh2\): not loaded/);
  assert.match(
    String(seen.build),
    /^DockerodePartLeftOut: BuildKit sessions \(dockerode\/lib\/session\): not loaded/,
  );
});

test('a dockerode loaded whole before (a test helper) is the one returned, nothing put in its way', () => {
  const seen = inFreshProcess(`
    const Whole = require('dockerode');
    const grpcBefore = Object.keys(require.cache).some((m) => m.includes('/@grpc/'));
    console.log(JSON.stringify({ same: loader.loadDockerode() === Whole, grpcBefore }));`);
  assert.equal(seen.same, true);
  assert.equal(seen.grpcBefore, true);
});

test('a layout where a left-out part does not resolve loads dockerode as it is rather than failing in the loader', () => {
  const seen = inFreshProcess(`
    const Module = require('node:module');
    const resolve = Module._resolveFilename;
    // ssh2 not installed beside docker-modem, as another layout could have it.
    Module._resolveFilename = function (request, ...rest) {
      if (request === 'ssh2') {
        const e = new Error("Cannot find module 'ssh2'");
        e.code = 'MODULE_NOT_FOUND';
        throw e;
      }
      return resolve.call(this, request, ...rest);
    };
    let outcome;
    try {
      loader.loadDockerode();
      outcome = 'loaded';
    } catch (e) {
      const stack = String(e.stack);
      outcome = stack.includes('standIn')
        ? 'the loader threw'
        : stack.includes('docker-modem/lib/ssh.js')
          ? "docker-modem's own require"
          : 'elsewhere: ' + stack;
    }
    console.log(JSON.stringify({ outcome }));`);
  // The loader skips that stand-in; what fails next is docker-modem's own require of ssh2, as it
  // would without the loader.
  assert.equal(seen.outcome, "docker-modem's own require");
});

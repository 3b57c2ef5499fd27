import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { type Server, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadAlertRules } from '../src/alert-rules.loader';
import { REPO_ROOT } from '../src/dashboard.loader';

// infra/local/prometheus.sh on its own: a Prometheus of its own on a free port, with the scrape
// targets and interval it is given; idempotent start; reuse of a working Prometheus; one FAILED
// line for a port held by something else or for bad targets.
const SCRIPT = join(REPO_ROOT, 'infra', 'local', 'prometheus.sh');
const dirs: string[] = [];
const servers: Server[] = [];

function listen(): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer((socket) => socket.end('HTTP/1.1 500 Nope\r\n\r\n'));
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

const portOf = (s: Server): number => {
  const address = s.address();
  assert.ok(typeof address === 'object' && address !== null);
  return address.port;
};

async function freePort(): Promise<number> {
  const s = await listen();
  const port = portOf(s);
  await new Promise((resolve) => s.close(resolve));
  return port;
}

function script(action: string, stackDir: string, env: Record<string, string>) {
  const r = spawnSync('bash', [SCRIPT, action], {
    env: { ...process.env, STACK_DIR: stackDir, READY_TIMEOUT: '60', ...env },
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const stackDir = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'prometheus-sh-'));
  dirs.push(d);
  return d;
};

after(async () => {
  for (const s of servers) await new Promise((resolve) => s.close(resolve));
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('infra/local/prometheus.sh', () => {
  test('starts its own Prometheus with the given targets, once; another stack reuses it', async () => {
    const port = await freePort();
    const own = stackDir();
    const env = {
      PROMETHEUS_PORT: String(port),
      PROMETHEUS_TARGETS: 'rating=127.0.0.1:19103,billing-api=127.0.0.1:18080',
      PROMETHEUS_SCRAPE_INTERVAL: '2s',
    };
    try {
      const started = script('start', own, env);
      assert.equal(started.status, 0, started.stderr);
      assert.match(started.stderr, /ready: http:\/\/127\.0\.0\.1:\d+/);
      const config = readFileSync(join(own, 'prometheus', 'prometheus.yml'), 'utf8');
      assert.match(config, /scrape_interval: 2s/);
      assert.match(
        config,
        /job_name: rating\n {4}metrics_path: \/metrics\n {4}static_configs:\n {6}- targets: \['127\.0\.0\.1:19103'\]/,
      );
      assert.match(config, /job_name: billing-api/);
      const targets = (await (
        await fetch(`http://127.0.0.1:${port}/api/v1/status/config`)
      ).json()) as {
        data: { yaml: string };
      };
      assert.match(targets.data.yaml, /127\.0\.0\.1:18080/);
      // It loaded the pipeline's alerting rules (infra/prometheus/alerts.yml).
      const rules = (await (await fetch(`http://127.0.0.1:${port}/api/v1/rules`)).json()) as {
        data: { groups: { rules: { name: string; type: string }[] }[] };
      };
      const alerts = rules.data.groups.flatMap((g) => g.rules).filter((r) => r.type === 'alerting');
      assert.deepEqual(
        alerts.map((r) => r.name).sort(),
        loadAlertRules()
          .map((r) => r.alert)
          .sort(),
      );

      const again = script('start', own, env);
      assert.equal(again.status, 0);
      assert.match(again.stderr, /already running/);
      assert.match(script('status', own, env).stdout, /prometheus: up/);

      const other = script('start', stackDir(), env);
      assert.equal(other.status, 0, other.stderr);
      assert.match(other.stderr, /not started here .* using it/);
    } finally {
      script('stop', own, env);
    }
    const status = script('status', own, env);
    assert.notEqual(status.status, 0);
    assert.match(status.stdout, /prometheus: down/);
  });

  test('a port held by something that is not Prometheus: one FAILED line naming it', async () => {
    const squatter = await listen();
    servers.push(squatter);
    const r = script('start', stackDir(), { PROMETHEUS_PORT: String(portOf(squatter)) });
    assert.equal(r.status, 1);
    const failed = r.stderr.split('\n').filter((l) => l.includes('FAILED'));
    assert.equal(failed.length, 1, r.stderr);
    assert.match(
      failed[0] ?? '',
      /^\[prometheus\] FAILED: port 127\.0\.0\.1:\d+ is taken .*set PROMETHEUS_PORT$/,
    );
  });

  test('bad targets: one FAILED line, nothing started', async () => {
    const r = script('start', stackDir(), {
      PROMETHEUS_PORT: String(await freePort()),
      PROMETHEUS_TARGETS: 'rating=10.0.0.1:9103',
    });
    assert.equal(r.status, 1);
    assert.match(
      r.stderr,
      /^\[prometheus\] FAILED: PROMETHEUS_TARGETS: 'rating=10\.0\.0\.1:9103' is not job=127\.0\.0\.1:port$/m,
    );
  });
});

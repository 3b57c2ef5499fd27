import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { type Server } from 'node:http';
import { type AddressInfo } from 'node:net';
import { Injectable, Module, type INestApplication, type OnModuleInit } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import {
  HealthRegistry,
  MetricsRegistry,
  ObservabilityModule,
  PinoNestLogger,
  createRootLogger,
  type HealthStatus,
} from '../src/index';

/** A feature provider as a service would write one: registers a check and a metric. */
@Injectable()
class FakeDatabase implements OnModuleInit {
  status: HealthStatus = 'up';
  /** The process-level check: a worker loop that stopped for good. */
  loop: HealthStatus = 'up';
  databaseCalls = 0;

  constructor(
    private readonly health: HealthRegistry,
    private readonly metrics: MetricsRegistry,
  ) {}

  onModuleInit(): void {
    this.health.register('database', () => {
      this.databaseCalls++;
      return Promise.resolve({ status: this.status, detail: { pool: 'main' } });
    });
    this.health.register('worker-loop', () => Promise.resolve({ status: this.loop }), {
      probe: 'liveness',
    });
    this.metrics.counter({ name: 'queries_total', help: 'Queries run' }).inc(7);
  }
}

@Module({ providers: [FakeDatabase] })
class FeatureModule {}

const logLines: Record<string, unknown>[] = [];
const rootLogger = createRootLogger({
  serviceName: 'obs-test',
  destination: {
    write: (line: string) => logLines.push(JSON.parse(line) as Record<string, unknown>),
  },
});

@Module({
  imports: [
    // No reuse of answers: the tests flip a check between two requests.
    ObservabilityModule.forRoot({ serviceName: 'obs-test', logger: rootLogger, healthCacheMs: 0 }),
    FeatureModule,
  ],
})
class AppModule {}

let app: INestApplication;
let baseUrl: string;

before(async () => {
  app = await NestFactory.create(AppModule, { bufferLogs: true });
  app.useLogger(app.get(PinoNestLogger));
  await app.listen(0, '127.0.0.1');
  const server = app.getHttpServer() as Server;
  const address = server.address() as AddressInfo;
  baseUrl = `http://127.0.0.1:${address.port}`;
});

after(async () => {
  await app.close();
});

test('GET /metrics serves Prometheus text with process and service metrics', async () => {
  const response = await fetch(`${baseUrl}/metrics`);
  assert.equal(response.status, 200);
  // Express reorders the parameters; what Prometheus needs is the type and the version.
  const contentType = response.headers.get('content-type') ?? '';
  assert.match(contentType, /^text\/plain;/);
  assert.match(contentType, /version=0\.0\.4/);
  const body = await response.text();
  assert.match(body, /^# TYPE process_cpu_seconds_total counter$/m);
  assert.match(body, /^obs_test_queries_total\{service="obs-test"\} 7$/m);
});

interface Report {
  probe: string;
  status: string;
  checks: Record<string, { status: string; probe: string; detail?: unknown; durationMs: number }>;
}

async function probe(path: string): Promise<{ status: number; body: Report; cache: string }> {
  const response = await fetch(`${baseUrl}${path}`);
  return {
    status: response.status,
    body: (await response.json()) as Report,
    cache: response.headers.get('cache-control') ?? '',
  };
}

test('GET /readyz and /healthz: 200 while every check is up, 503 naming the failing dependency', async () => {
  for (const path of ['/readyz', '/healthz']) {
    const up = await probe(path);
    assert.equal(up.status, 200, path);
    assert.equal(up.cache, 'no-store');
    assert.equal(up.body.status, 'up');
    assert.equal(up.body.probe, 'readiness');
    assert.deepEqual(Object.keys(up.body.checks).sort(), ['database', 'worker-loop']);
    assert.equal(up.body.checks.database?.status, 'up');
    assert.equal(up.body.checks.database?.probe, 'readiness');
    assert.deepEqual(up.body.checks.database?.detail, { pool: 'main' });
    assert.equal(typeof up.body.checks.database?.durationMs, 'number');
  }

  app.get(FakeDatabase).status = 'down';
  try {
    for (const path of ['/readyz', '/healthz']) {
      const down = await probe(path);
      assert.equal(down.status, 503, path);
      assert.equal(down.body.status, 'down');
      assert.equal(down.body.checks.database?.status, 'down');
      assert.equal(down.body.checks['worker-loop']?.status, 'up');
    }
  } finally {
    app.get(FakeDatabase).status = 'up';
  }
});

test('GET /livez ignores dependencies: 200 with the database down, without even asking it', async () => {
  const fake = app.get(FakeDatabase);
  fake.status = 'down';
  const before = fake.databaseCalls;
  try {
    const live = await probe('/livez');
    assert.equal(live.status, 200);
    assert.equal(live.cache, 'no-store');
    assert.equal(live.body.probe, 'liveness');
    assert.deepEqual(Object.keys(live.body.checks), ['worker-loop']);
    assert.equal(fake.databaseCalls, before, 'the dependency was not checked');
  } finally {
    fake.status = 'up';
  }
});

test('GET /livez is 503 when the process itself is broken, and so is readiness', async () => {
  const fake = app.get(FakeDatabase);
  fake.loop = 'down';
  try {
    const live = await probe('/livez');
    assert.equal(live.status, 503);
    assert.equal(live.body.checks['worker-loop']?.status, 'down');
    assert.equal((await probe('/readyz')).status, 503);
  } finally {
    fake.loop = 'up';
  }
  assert.equal((await probe('/livez')).status, 200);
});

test("Nest's own logs go through pino as JSON with Nest's context", () => {
  const routes = logLines.find(
    (line) => line.context === 'RouterExplorer' && String(line.msg).includes('/livez'),
  );
  assert.ok(routes, `no RouterExplorer line among ${logLines.length} lines`);
  assert.equal(routes.service, 'obs-test');
  assert.equal(routes.level, 'info');
});

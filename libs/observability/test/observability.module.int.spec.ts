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

  constructor(
    private readonly health: HealthRegistry,
    private readonly metrics: MetricsRegistry,
  ) {}

  onModuleInit(): void {
    this.health.register('database', () =>
      Promise.resolve({ status: this.status, detail: { pool: 'main' } }),
    );
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
    ObservabilityModule.forRoot({ serviceName: 'obs-test', logger: rootLogger }),
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

test('GET /healthz is 200 while every check is up, 503 naming the failing one otherwise', async () => {
  const up = await fetch(`${baseUrl}/healthz`);
  assert.equal(up.status, 200);
  const report = (await up.json()) as {
    status: string;
    checks: Record<string, { status: string; detail: unknown; durationMs: number }>;
  };
  assert.equal(report.status, 'up');
  assert.deepEqual(Object.keys(report.checks), ['database']);
  assert.equal(report.checks.database?.status, 'up');
  assert.deepEqual(report.checks.database?.detail, { pool: 'main' });
  assert.equal(typeof report.checks.database?.durationMs, 'number');

  app.get(FakeDatabase).status = 'down';
  const down = await fetch(`${baseUrl}/healthz`);
  assert.equal(down.status, 503);
  const body = (await down.json()) as {
    status: string;
    checks: Record<string, { status: string }>;
  };
  assert.equal(body.status, 'down');
  assert.equal(body.checks.database?.status, 'down');
  app.get(FakeDatabase).status = 'up';
});

test("Nest's own logs go through pino as JSON with Nest's context", () => {
  const routes = logLines.find(
    (line) => line.context === 'RouterExplorer' && String(line.msg).includes('/healthz'),
  );
  assert.ok(routes, `no RouterExplorer line among ${logLines.length} lines`);
  assert.equal(routes.service, 'obs-test');
  assert.equal(routes.level, 'info');
});

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sampleIdOf, type Lifecycle, type SampleEvent } from '@metering/contracts';
import { exampleDockerSample } from '@metering/contracts/testing';
import { createRootLogger, isLogLevel, type Logger } from '@metering/observability';

/** Set TEST_LOG_LEVEL=debug to see the spool's and kafkajs's lines while debugging. */
const level = process.env.TEST_LOG_LEVEL;

export interface CapturedLogs {
  logger: Logger;
  lines: Array<Record<string, unknown>>;
}

/** A logger whose lines are kept for assertions (and echoed when TEST_LOG_LEVEL is set). */
export function capturedLogger(): CapturedLogs {
  const lines: Array<Record<string, unknown>> = [];
  const logger = createRootLogger({
    level: isLogLevel(level) ? level : 'info',
    serviceName: 'spool-test',
    destination: {
      write(line: string) {
        lines.push(JSON.parse(line) as Record<string, unknown>);
        if (isLogLevel(level)) process.stdout.write(line);
      },
    },
  });
  return { logger, lines };
}

export function testLogger(): Logger {
  return createRootLogger({
    level: isLogLevel(level) ? level : 'error',
    serviceName: 'spool-test',
  });
}

/** For kafkajs, which logs every refused connection of a planned outage as an error. */
export function kafkaTestLogger(): Logger {
  return createRootLogger({
    level: isLogLevel(level) ? level : 'fatal',
    serviceName: 'spool-test',
  });
}

export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'spool-test-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const BASE = Date.parse('2026-11-26T13:00:00.000Z');
const STARTED = '2026-11-26T12:58:00.000Z';

/** The n-th reading (n ≥ 0) of a container: valid, with a deterministic sampleId. */
export function sampleOf(resourceId: string, n: number, lifecycle: Lifecycle): SampleEvent {
  const sample = exampleDockerSample();
  const instanceId = `${resourceId}@${STARTED}`;
  const observedAt = new Date(BASE + n * 1_000).toISOString();
  return {
    ...sample,
    sampleId: sampleIdOf({ source: 'docker', host: 'node-1', resourceId, instanceId, observedAt }),
    resource: {
      ...sample.resource,
      id: resourceId,
      name: resourceId,
      instanceId,
      startedAt: STARTED,
    },
    observedAt,
    lifecycle,
    cpu: { ...sample.cpu, usageNs: String(1_000_000 * (n + 1)) },
  };
}

/** What the tests read back from a spool record or a Kafka message value. */
export interface SampleSummary {
  resourceId: string;
  sampleId: string;
  observedAt: string;
  lifecycle: Lifecycle;
}

export function summarise(value: Buffer): SampleSummary {
  const sample = JSON.parse(value.toString('utf8')) as SampleEvent;
  return {
    resourceId: sample.resource.id,
    sampleId: sample.sampleId,
    observedAt: sample.observedAt,
    lifecycle: sample.lifecycle,
  };
}

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { encodeSample, type SampleEvent, sampleIdOf, sampleKey } from '@metering/contracts';
import { KafkaClientFactory } from '@metering/kafka';
import { createRootLogger } from '@metering/observability';
import { ServicePipeline, metricValue } from '@metering/pipeline-harness';
import { localInfra, uniqueName, waitFor } from '@metering/testing';
import { budgetEventIdOf } from '../src/events/invoice-event.factory';
import { InvoiceEventCollector } from './automation-fixtures';
import { WebhookReceiver } from './webhook-receiver';

// A budget threshold crossed by real rated usage: samples of one container go to a real Kafka
// topic, the real rating service (compiled, a child process) rates them into the ledger, and the
// real billing-api (compiled, a child process) checks the draft every 200 ms: the threshold's
// budget.threshold_reached reaches Kafka (through the outbox relay) and a webhook receiver on
// 127.0.0.1 once, however much more usage arrives and however many checks run afterwards.
const pipeline = new ServicePipeline('budget');
const eventsTopic = uniqueName('billing_budget_pipeline');
const events = new InvoiceEventCollector(eventsTopic);
const receiver = new WebhookReceiver();
const TENANT = `${pipeline.name}-acme`;
const HOST = 'budget-host';
const CONTAINER = randomBytes(32).toString('hex');
const STEP_MS = 10_000;
const factory = new KafkaClientFactory(
  { brokers: localInfra.kafkaBrokers, clientId: 'budget-pipeline-test' },
  { logger: createRootLogger({ serviceName: 'budget-pipeline-test', level: 'warn' }) },
);
const producer = factory.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
let tenantKey = '';

// One container at one core, started ten minutes ago; sample i is observed i × 10 s later.
const startedAtMs = Math.floor(Date.now() / 1000) * 1000 - 10 * 60_000;
const instanceId = `${CONTAINER.slice(0, 12)}@${new Date(startedAtMs).toISOString()}`;
function sample(i: number): SampleEvent {
  const t = startedAtMs + i * STEP_MS;
  const observedAt = new Date(t).toISOString();
  return {
    schema: 'metering.sample.v1',
    sampleId: sampleIdOf({
      source: 'docker',
      host: HOST,
      resourceId: CONTAINER,
      instanceId,
      observedAt,
    }),
    source: 'docker',
    host: HOST,
    resource: {
      kind: 'container',
      id: CONTAINER,
      name: 'budget-burner',
      tenantId: TENANT,
      instanceId,
      startedAt: new Date(startedAtMs).toISOString(),
    },
    observedAt,
    lifecycle: i === 0 ? 'start' : 'running',
    // One core: a nanosecond of CPU per nanosecond since the start.
    cpu: { usageNs: (BigInt(t - startedAtMs) * 1_000_000n).toString(), allocationCores: 1 },
    memory: { usageBytes: 64 * 1024 * 1024, allocationBytes: 128 * 1024 * 1024 },
  };
}

async function publishRated(from: number, to: number): Promise<void> {
  const samples = Array.from({ length: to - from + 1 }, (_, k) => sample(from + k));
  await producer.send({
    topic: pipeline.topic,
    messages: pipeline.signed(samples.map((s) => ({ key: sampleKey(s), value: encodeSample(s) }))),
  });
  const ends = await pipeline.sampleTopicEnds();
  await waitFor(() => pipeline.ratedUpTo(ends), {
    timeoutMs: 60_000,
    description: `rating committed samples ${from}…${to}`,
  });
}

const period = new Date().toISOString().slice(0, 7);
const draftTotal = async (): Promise<number> =>
  Number(
    (
      await pipeline.api<{ total: string }>('GET', `/v1/tenants/${TENANT}/invoices/${period}`, {
        key: tenantKey,
      })
    ).total,
  );
const budgetEvents = () => events.ofType('budget.threshold_reached');

before(async () => {
  await pipeline.prepare(1);
  await events.start();
  await receiver.start();
  await producer.connect();
  await pipeline.startBillingApi({
    KAFKA_BROKERS: localInfra.kafkaBrokers.join(','),
    EVENTS_TOPIC: eventsTopic,
    OUTBOX_RELAY_INTERVAL_MS: '100',
    WEBHOOK_SECRET_KEY: randomBytes(32).toString('base64'),
    WEBHOOK_ALLOWED_CIDRS: '127.0.0.1/32',
    WEBHOOK_POLL_MS: '100',
    SCHEDULED_CLOSE: 'off',
    BUDGET_CHECK_INTERVAL_MS: '200',
  });
  // Rating must know the tenant and its plan before the first sample.
  await pipeline.api('POST', '/v1/tenants', {
    body: { id: TENANT, name: 'Budget Acme', timeZone: 'UTC', currency: 'EUR' },
  });
  // 3,600 EUR per vCPU-hour: one euro per core-second, so ten seconds of samples are ten euros.
  await pipeline.api('POST', '/v1/price-plans', {
    body: {
      id: `${pipeline.name}-plan`,
      currency: 'EUR',
      basis: 'usage',
      cpu: { tiers: [{ upTo: null, unitPrice: '3600' }] },
      minimum: '0.00',
    },
  });
  await pipeline.api('PUT', `/v1/tenants/${TENANT}/plan`, {
    body: { planId: `${pipeline.name}-plan`, effectiveFrom: '2020-01-01T00:00:00Z' },
  });
  tenantKey = (await pipeline.api<{ key: string }>('POST', `/v1/tenants/${TENANT}/api-keys`)).key;
  await pipeline.startRating();
});

after(async () => {
  await producer.disconnect().catch(() => undefined);
  await events.stop();
  await receiver.stop();
  await pipeline.stop();
});

test('a threshold crossed by real rated usage fires once: one crossing, one Kafka event, one webhook delivery', async () => {
  const endpoint = await pipeline.api<{ secret: string }>('POST', '/v1/webhook-endpoints', {
    key: tenantKey,
    body: { url: receiver.url, eventTypes: ['budget.threshold_reached'] },
  });
  receiver.secrets = [endpoint.secret];
  const threshold = await pipeline.api<{ id: string; amount: string }>(
    'POST',
    `/v1/tenants/${TENANT}/budget-thresholds`,
    { key: tenantKey, body: { amount: '100' } },
  );
  assert.equal(threshold.amount, '100.00');
  const eventId = budgetEventIdOf(TENANT, threshold.id, period);

  // Samples 0…6: about sixty core-seconds, below the threshold; several checks find nothing.
  await publishRated(0, 6);
  const below = await draftTotal();
  assert.ok(below > 0 && below < 100, `the draft is ${below}`);
  await sleep(1_500);
  assert.equal(budgetEvents().length, 0);
  assert.equal(receiver.requests.length, 0);

  // Samples 7…15: past 100 euros. The check sees it within its interval of the rating.
  await publishRated(7, 15);
  const above = await draftTotal();
  assert.ok(above >= 100, `the draft is ${above}`);
  await waitFor(() => receiver.acknowledged.get(eventId) === 1, {
    timeoutMs: 30_000,
    description: 'the webhook receiver acknowledged budget.threshold_reached',
  });
  await waitFor(() => budgetEvents().length >= 1, {
    timeoutMs: 30_000,
    description: 'budget.threshold_reached on Kafka',
  });

  // More usage and many more checks: nothing fires again.
  await publishRated(16, 30);
  await sleep(2_000);
  const crossings = await pipeline.sql<{ amount: string; threshold_amount: string }>(
    'SELECT amount::text AS amount, threshold_amount::text AS threshold_amount FROM budget_crossing',
  );
  assert.equal(crossings.length, 1);
  assert.deepEqual(
    budgetEvents().map((e) => e.eventId),
    [eventId],
  );
  assert.equal(receiver.processed.get(eventId), 1);
  assert.equal(receiver.acknowledged.get(eventId), 1);
  assert.deepEqual(
    receiver.requests.map((r) => [r.eventId, r.accepted]),
    [[eventId, true]],
  );
  const event = budgetEvents()[0]!;
  assert.ok(event.type === 'budget.threshold_reached');
  const budget = event.data.budget;
  assert.equal(budget.thresholdId, threshold.id);
  assert.equal(budget.threshold, '100.00');
  assert.equal(budget.currency, 'EUR');
  assert.equal(budget.period, period);
  assert.equal(budget.amount, crossings[0]!.amount, 'the amount the crossing recorded');
  // The amount reached is a draft total seen between the crossing and the last rating.
  assert.ok(Number(budget.amount) >= 100 && Number(budget.amount) <= above, budget.amount);
  assert.deepEqual(receiver.bodies.get(eventId), event);
  const metrics = await pipeline.metrics('billing-api');
  assert.equal(metricValue(metrics, /^billing_api_budget_thresholds_reached_total\b/), 1);
  assert.equal(metricValue(metrics, /^billing_api_budget_check_failures_total\b/), 0);
  const listed = await pipeline.api<{ data: { reachedAt: string | null }[] }>(
    'GET',
    `/v1/tenants/${TENANT}/budget-thresholds`,
    { key: tenantKey },
  );
  assert.equal(listed.data[0]!.reachedAt, budget.crossedAt);
});

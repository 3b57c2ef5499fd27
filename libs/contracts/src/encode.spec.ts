import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ContractViolationError } from './contract.errors';
import { decodeSample } from './decode';
import { encode, encodeSample, encodeUsage } from './encode';
import { exampleLibvirtSample, exampleUsageEvent } from './event.fixtures';
import { type SampleEvent } from './sample.event';
import { type UsageEvent } from './usage.event';
import { TOPICS } from './topics';

test('encode writes UTF-8 JSON', () => {
  const bytes = encode({ name: 'café', n: 1 });
  assert.ok(Buffer.isBuffer(bytes));
  assert.equal(bytes.toString('utf8'), '{"name":"café","n":1}');
  assert.throws(() => encode(undefined), TypeError);
});

test('encodeSample output decodes to the same event', () => {
  const sample = exampleLibvirtSample();
  const result = decodeSample(encodeSample(sample));
  assert.ok(result.ok);
  assert.deepEqual(result.value, sample);
});

test('encoders refuse an event that breaks its schema, naming the field', () => {
  const sample = { ...exampleLibvirtSample(), lifecycle: 'paused' } as unknown as SampleEvent;
  assert.throws(
    () => encodeSample(sample),
    (error: unknown) =>
      error instanceof ContractViolationError &&
      error.code === 'SCHEMA_VIOLATION' &&
      error.path === 'lifecycle' &&
      error.message.startsWith('lifecycle: '),
  );
  const usage = { ...exampleUsageEvent(), cpuCoreSeconds: '1e3' } as UsageEvent;
  assert.throws(() => encodeUsage(usage), ContractViolationError);
});

test('topic names are the published ones', () => {
  assert.deepEqual(TOPICS, {
    samples: 'metering.samples.v1',
    usage: 'billing.usage.v1',
    samplesDlq: 'metering.samples.dlq.v1',
    invoices: 'billing.invoices.v1',
  });
});

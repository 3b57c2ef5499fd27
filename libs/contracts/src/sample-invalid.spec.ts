import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type DecodeErrorCode, decodeSample } from './decode';
import { encode } from './encode';
import { exampleDockerSample } from './event.fixtures';
import { type Edit, edited, remove, set } from '../test/json-edit';

/** Samples the decoder rejects: one case per broken field, each with its code, path and message. */

/** The docker example with the edits applied, encoded as bytes. */
function sampleBytes(...edits: Edit[]): Buffer {
  return encode(edited(exampleDockerSample(), ...edits));
}

interface InvalidCase {
  name: string;
  bytes: Buffer | string | null;
  code: DecodeErrorCode;
  path: string | null;
  message: RegExp;
}

const invalidCases: InvalidCase[] = [
  {
    name: 'missing tenantId',
    bytes: sampleBytes(remove('resource.tenantId')),
    code: 'SCHEMA_VIOLATION',
    path: 'resource.tenantId',
    message: /^resource\.tenantId: is required$/,
  },
  {
    name: 'empty tenantId',
    bytes: sampleBytes(set('resource.tenantId', '')),
    code: 'SCHEMA_VIOLATION',
    path: 'resource.tenantId',
    message: /^resource\.tenantId: must not be empty$/,
  },
  {
    name: 'negative memory',
    bytes: sampleBytes(set('memory.usageBytes', -1)),
    code: 'SCHEMA_VIOLATION',
    path: 'memory.usageBytes',
    message: /^memory\.usageBytes: must be >= 0$/,
  },
  {
    name: 'fractional memory',
    bytes: sampleBytes(set('memory.usageBytes', 1.5)),
    code: 'SCHEMA_VIOLATION',
    path: 'memory.usageBytes',
    message: /^memory\.usageBytes: must be an integer/,
  },
  {
    name: 'memory as a string',
    bytes: sampleBytes(set('memory.usageBytes', '52428800')),
    code: 'SCHEMA_VIOLATION',
    path: 'memory.usageBytes',
    message: /^memory\.usageBytes: must be a number, got string$/,
  },
  {
    name: 'memory beyond 2^53',
    bytes: sampleBytes(set('memory.usageBytes', 2 ** 60)),
    code: 'SCHEMA_VIOLATION',
    path: 'memory.usageBytes',
    message: /^memory\.usageBytes: must be <= 9007199254740991$/,
  },
  ...['12.5', '-1', '1e9', ' 1', '', '0x10'].map((usageNs): InvalidCase => ({
    name: `usageNs ${JSON.stringify(usageNs)}`,
    bytes: sampleBytes(set('cpu.usageNs', usageNs)),
    code: 'SCHEMA_VIOLATION',
    path: 'cpu.usageNs',
    message: /^cpu\.usageNs: must be a non-negative integer decimal string/,
  })),
  {
    name: 'usageNs as a number',
    bytes: sampleBytes(set('cpu.usageNs', 1500000000)),
    code: 'SCHEMA_VIOLATION',
    path: 'cpu.usageNs',
    message: /^cpu\.usageNs: must be a string, got number$/,
  },
  {
    name: 'usageNs beyond u64',
    bytes: sampleBytes(set('cpu.usageNs', '18446744073709551616')),
    code: 'SCHEMA_VIOLATION',
    path: 'cpu.usageNs',
    message: /^cpu\.usageNs: must not exceed 2\^64-1$/,
  },
  {
    name: 'zero cpu allocation',
    bytes: sampleBytes(set('cpu.allocationCores', 0)),
    code: 'SCHEMA_VIOLATION',
    path: 'cpu.allocationCores',
    message: /^cpu\.allocationCores: must be >= 0\.001$/,
  },
  {
    name: 'cpu allocation below a millicore',
    bytes: sampleBytes(set('cpu.allocationCores', 1e-300)),
    code: 'SCHEMA_VIOLATION',
    path: 'cpu.allocationCores',
    message: /^cpu\.allocationCores: must be >= 0\.001$/,
  },
  {
    name: 'cpu allocation beyond 65,536 cores',
    bytes: sampleBytes(set('cpu.allocationCores', 1e21)),
    code: 'SCHEMA_VIOLATION',
    path: 'cpu.allocationCores',
    message: /^cpu\.allocationCores: must be <= 65536$/,
  },
  {
    name: 'host cores not a whole number',
    bytes: sampleBytes(set('cpu.hostCores', 2.5)),
    code: 'SCHEMA_VIOLATION',
    path: 'cpu.hostCores',
    message: /^cpu\.hostCores: must be an integer/,
  },
  {
    name: 'host cores zero',
    bytes: sampleBytes(set('cpu.hostCores', 0)),
    code: 'SCHEMA_VIOLATION',
    path: 'cpu.hostCores',
    message: /^cpu\.hostCores: must be >= 1$/,
  },
  {
    name: 'a negative sequence',
    bytes: sampleBytes(set('sequence', -1)),
    code: 'SCHEMA_VIOLATION',
    path: 'sequence',
    message: /^sequence: must be >= 0$/,
  },
  {
    name: 'a sequence that is not a whole number',
    bytes: sampleBytes(set('sequence', 1.5)),
    code: 'SCHEMA_VIOLATION',
    path: 'sequence',
    message: /^sequence: must be an integer/,
  },
  {
    name: 'a sequence beyond 2^53 - 1',
    bytes: sampleBytes(set('sequence', 2 ** 53)),
    code: 'SCHEMA_VIOLATION',
    path: 'sequence',
    message: /^sequence: must be /,
  },
  {
    name: 'a sequence as a string',
    bytes: sampleBytes(set('sequence', '7')),
    code: 'SCHEMA_VIOLATION',
    path: 'sequence',
    message: /^sequence: /,
  },
  {
    name: 'a NUL byte in the resource id',
    bytes: sampleBytes(set('resource.id', 'web\u00001')),
    code: 'SCHEMA_VIOLATION',
    path: 'resource.id',
    message: /^resource\.id: must not contain control characters/,
  },
  {
    name: 'a control character in the tenant id',
    bytes: sampleBytes(set('resource.tenantId', 'acme\u001b[31m')),
    code: 'SCHEMA_VIOLATION',
    path: 'resource.tenantId',
    message: /^resource\.tenantId: must not contain control characters/,
  },
  {
    name: 'a C1 control character in the name',
    bytes: sampleBytes(set('resource.name', 'web\u0085')),
    code: 'SCHEMA_VIOLATION',
    path: 'resource.name',
    message: /^resource\.name: must not contain control characters/,
  },
  {
    name: 'a NUL byte in the image',
    bytes: sampleBytes(set('resource.image', 'web\u0000:1')),
    code: 'SCHEMA_VIOLATION',
    path: 'resource.image',
    message: /^resource\.image: must not contain control characters/,
  },
  {
    name: 'an image of a megabyte',
    bytes: sampleBytes(set('resource.image', 'i'.repeat(1_000_000))),
    code: 'SCHEMA_VIOLATION',
    path: 'resource.image',
    message: /^resource\.image: must be at most 512 bytes of UTF-8$/,
  },
  {
    name: 'an empty image (absent means unknown)',
    bytes: sampleBytes(set('resource.image', '')),
    code: 'SCHEMA_VIOLATION',
    path: 'resource.image',
    message: /^resource\.image: must not be empty$/,
  },
  {
    name: 'an image as a number',
    bytes: sampleBytes(set('resource.image', 42)),
    code: 'SCHEMA_VIOLATION',
    path: 'resource.image',
    message: /^resource\.image: must be a string/,
  },
  {
    name: 'an image as null',
    bytes: sampleBytes(set('resource.image', null)),
    code: 'SCHEMA_VIOLATION',
    path: 'resource.image',
    message: /^resource\.image: must be a string/,
  },
  {
    name: 'a control character in the flavour',
    bytes: sampleBytes(set('resource.flavour', 'm1\u001bsmall')),
    code: 'SCHEMA_VIOLATION',
    path: 'resource.flavour',
    message: /^resource\.flavour: must not contain control characters/,
  },
  {
    name: 'a flavour of 86 CJK characters (258 bytes)',
    bytes: sampleBytes(set('resource.flavour', '株'.repeat(86))),
    code: 'SCHEMA_VIOLATION',
    path: 'resource.flavour',
    message: /^resource\.flavour: must be at most 255 bytes of UTF-8$/,
  },
  {
    name: 'a flavour as an object',
    bytes: sampleBytes(set('resource.flavour', { name: 'm1.small' })),
    code: 'SCHEMA_VIOLATION',
    path: 'resource.flavour',
    message: /^resource\.flavour: must be a string/,
  },
  {
    name: 'an unpaired surrogate in the flavour',
    bytes: sampleBytes(set('resource.flavour', 'm1\ud800')),
    code: 'SCHEMA_VIOLATION',
    path: 'resource.flavour',
    message: /^resource\.flavour: must not contain control characters .* or unpaired surrogates$/,
  },
  {
    name: 'an unpaired surrogate in the instance id',
    bytes: sampleBytes(set('resource.instanceId', 'i-\ud800')),
    code: 'SCHEMA_VIOLATION',
    path: 'resource.instanceId',
    message:
      /^resource\.instanceId: must not contain control characters .* or unpaired surrogates$/,
  },
  {
    name: 'a resource id over 256 bytes',
    bytes: sampleBytes(set('resource.id', 'a'.repeat(257))),
    code: 'SCHEMA_VIOLATION',
    path: 'resource.id',
    message: /^resource\.id: must be at most 256 bytes of UTF-8$/,
  },
  {
    name: 'a tenant id of 43 CJK characters (129 bytes)',
    bytes: sampleBytes(set('resource.tenantId', '株'.repeat(43))),
    code: 'SCHEMA_VIOLATION',
    path: 'resource.tenantId',
    message: /^resource\.tenantId: must be at most 128 bytes of UTF-8$/,
  },
  {
    name: 'a host name of a megabyte',
    bytes: sampleBytes(set('host', 'h'.repeat(1_000_000))),
    code: 'SCHEMA_VIOLATION',
    path: 'host',
    message: /^host: must be at most 253 bytes of UTF-8$/,
  },
  {
    name: 'missing memory allocation (null means unlimited; absent is an error)',
    bytes: sampleBytes(remove('memory.allocationBytes')),
    code: 'SCHEMA_VIOLATION',
    path: 'memory.allocationBytes',
    message: /^memory\.allocationBytes: is required$/,
  },
  {
    name: 'bad lifecycle',
    bytes: sampleBytes(set('lifecycle', 'stopped')),
    code: 'SCHEMA_VIOLATION',
    path: 'lifecycle',
    message: /^lifecycle: must be one of "start", "running", "final"$/,
  },
  {
    name: 'bad source',
    bytes: sampleBytes(set('source', 'podman')),
    code: 'SCHEMA_VIOLATION',
    path: 'source',
    message: /^source: must be one of "docker", "libvirt"$/,
  },
  {
    name: 'bad kind',
    bytes: sampleBytes(set('resource.kind', 'pod')),
    code: 'SCHEMA_VIOLATION',
    path: 'resource.kind',
    message: /^resource\.kind: must be one of "container", "vm"$/,
  },
  ...['2026-11-26T13:00:10', '2026-11-26 13:00:10Z', '2026-02-30T13:00:10Z', 'yesterday', ''].map(
    (observedAt): InvalidCase => ({
      name: `observedAt ${JSON.stringify(observedAt)}`,
      bytes: sampleBytes(set('observedAt', observedAt)),
      code: 'SCHEMA_VIOLATION',
      path: 'observedAt',
      message: /^observedAt: must be an ISO-8601 timestamp with a time zone/,
    }),
  ),
  {
    name: 'startedAt as epoch millis',
    bytes: sampleBytes(set('resource.startedAt', 1795698010000)),
    code: 'SCHEMA_VIOLATION',
    path: 'resource.startedAt',
    message: /^resource\.startedAt: must be a string, got number$/,
  },
  {
    name: 'observed before the instance started',
    bytes: sampleBytes(set('observedAt', '2026-11-26T12:57:59.999Z')),
    code: 'SCHEMA_VIOLATION',
    path: 'observedAt',
    message: /^observedAt: must not be before resource\.startedAt$/,
  },
  {
    name: 'missing cpu object',
    bytes: sampleBytes(remove('cpu')),
    code: 'SCHEMA_VIOLATION',
    path: 'cpu',
    message: /^cpu: is required$/,
  },
  {
    name: 'wrong schema version',
    bytes: sampleBytes(set('schema', 'metering.sample.v2')),
    code: 'UNKNOWN_SCHEMA_VERSION',
    path: 'schema',
    message:
      /^schema: unsupported version "metering\.sample\.v2"; expected "metering\.sample\.v1"$/,
  },
  {
    name: 'missing schema',
    bytes: sampleBytes(remove('schema')),
    code: 'UNKNOWN_SCHEMA_VERSION',
    path: 'schema',
    message: /^schema: is required; expected "metering\.sample\.v1"$/,
  },
  {
    name: 'a usage event on the samples topic',
    bytes: JSON.stringify({ schema: 'billing.usage.v1' }),
    code: 'UNKNOWN_SCHEMA_VERSION',
    path: 'schema',
    message: /unsupported version "billing\.usage\.v1"/,
  },
  {
    name: 'invalid JSON',
    bytes: '{"schema": "metering.sample.v1",',
    code: 'INVALID_JSON',
    path: null,
    message: /^message is not valid JSON: /,
  },
  {
    name: 'empty message',
    bytes: Buffer.alloc(0),
    code: 'INVALID_JSON',
    path: null,
    message: /^message is empty$/,
  },
  {
    name: 'tombstone',
    bytes: null,
    code: 'INVALID_JSON',
    path: null,
    message: /^message is empty$/,
  },
  {
    name: 'not UTF-8',
    bytes: Buffer.from([0x7b, 0xff, 0xfe, 0x7d]),
    code: 'INVALID_JSON',
    path: null,
    message: /^message is not valid UTF-8$/,
  },
  ...[
    ['42', 'number'],
    ['[]', 'an array'],
    ['"text"', 'string'],
    ['null', 'null'],
    ['true', 'boolean'],
  ].map(([json, got]): InvalidCase => ({
    name: `non-object JSON ${json}`,
    bytes: json!,
    code: 'SCHEMA_VIOLATION',
    path: null,
    message: new RegExp(`^message must be a JSON object, got ${got}$`),
  })),
];

for (const c of invalidCases) {
  test(`rejects ${c.name}`, () => {
    const result = decodeSample(c.bytes);
    assert.ok(!result.ok, 'expected a failure');
    assert.equal(result.reason.code, c.code);
    assert.equal(result.reason.path, c.path);
    assert.match(result.reason.message, c.message);
  });
}

test('every failing field is named, the first one as the path', () => {
  const result = decodeSample(
    sampleBytes(remove('resource.tenantId'), set('memory.usageBytes', -5)),
  );
  assert.ok(!result.ok);
  assert.equal(result.reason.path, 'resource.tenantId');
  assert.equal(
    result.reason.message,
    'resource.tenantId: is required; memory.usageBytes: must be >= 0',
  );
});

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isInfrastructureError } from '../consuming/batch-error.classifier';
import { LedgerRowError } from './ledger-db';
import {
  bucketTotalsRow,
  pieceToJson,
  stateRow,
  storedPiece,
  storedWindow,
  windowToJson,
} from './ledger-rows';

const STATE = {
  resource_id: 'r-1',
  instance_id: 'i-1',
  tenant_id: 't-1',
  resource_kind: 'container',
  started_ms: '1764547200000',
  observed_ms: '1764547210000',
  last_cpu_usage_ns: '12345678901234567890',
  last_memory_usage_bytes: '1048576',
  last_cpu_allocation_cores: null,
  last_memory_allocation_bytes: '2097152',
  final: false,
};

const WINDOW = {
  tenantId: 't-1',
  resourceKind: 'vm' as const,
  resourceId: 'r-1',
  instanceId: 'i-1',
  fromMs: 1764547200000,
  toMs: 1764547500000,
  period: '2025-12',
  plan: { id: 'std', version: 2 },
  currency: 'EUR',
  basis: 'max' as const,
  cpuUsage: 123456789012345678901234n,
  memoryUsage: 5n,
  cpuPriced: 7n,
  memoryPriced: 0n,
  cpuAmount: 100000000000000000000n,
  memoryAmount: 1n,
  gap: false,
};

describe('ledger rows (zod schemas at the boundary)', () => {
  test('an instance state row maps to the domain state, exact figures as bigint', () => {
    const state = stateRow.parse(STATE);
    assert.equal(state.lastCpuUsageNs, 12345678901234567890n);
    assert.equal(state.lastMemoryAllocationBytes, 2097152n);
    assert.equal(state.lastCpuAllocationCores, null);
    assert.equal(state.startedAtMs, 1764547200000);
  });

  test('an open window survives the jsonb round trip exactly', () => {
    const stored = JSON.parse(JSON.stringify(windowToJson(WINDOW))) as unknown;
    assert.deepEqual(storedWindow.parse(stored), WINDOW);
  });

  test('an unpriced piece survives the jsonb round trip exactly', () => {
    const piece = {
      tenantId: 't-1',
      resourceKind: 'container' as const,
      resourceId: 'r-1',
      instanceId: 'i-1',
      period: '2025-12',
      gap: false,
      final: true,
      parts: [
        {
          fromMs: 1764547200000,
          toMs: 1764547210000,
          bucketStartMs: 1764547200000,
          cpuUsage: 123456789012345678901234n,
          cpuAllocation: 2n,
          cpuMax: 3n,
          memoryUsage: 4n,
          memoryAllocation: 5n,
          memoryMax: 6n,
        },
      ],
    };
    const stored = JSON.parse(JSON.stringify(pieceToJson(piece))) as unknown;
    assert.deepEqual(storedPiece.parse(stored), piece);
    assert.equal(storedPiece.safeParse({ ...(stored as object), parts: [[1, 2]] }).success, false);
  });

  test('a row unlike its schema is refused, not cast', () => {
    assert.equal(stateRow.safeParse({ ...STATE, resource_kind: 'pod' }).success, false);
    assert.equal(stateRow.safeParse({ ...STATE, final: 'f' }).success, false);
    const { start_ms: _, ...noStart } = {
      tenant_id: 't',
      resource_id: 'r',
      resource_kind: 'vm',
      start_ms: '0',
      cpu: '0',
      memory: '0',
      amount: '0',
      observed_ms: '0',
      gap_ms: '0',
      inferred_gap_ms: '0',
      samples_expected: '0',
      samples_observed: '0',
      samples_thinned: '0',
      declared_ms: '0',
      declared_gap_ms: '0',
    };
    assert.equal(bucketTotalsRow.safeParse(noStart).success, false);
  });

  test('a ledger row error retries the batch whole: it is no message’s fault', () => {
    assert.equal(isInfrastructureError(new LedgerRowError('a column changed type')), true);
  });
});

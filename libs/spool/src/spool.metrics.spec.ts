import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MetricsRegistry } from '@metering/observability';
import { DROP_REASONS, SpoolMetrics } from './spool.metrics';

test('every drop reason is exposed at 0 from the start, so the first drop is an increase', async () => {
  const registry = new MetricsRegistry({ serviceName: 't', collectDefaultMetrics: false });
  new SpoolMetrics(registry).recordsDropped('no_room', 2);
  const text = await registry.registry.metrics();
  for (const reason of DROP_REASONS) {
    const expected = reason === 'no_room' ? 2 : 0;
    assert.match(
      text,
      new RegExp(
        `^t_spool_thinned_records_total\\{reason="${reason}",service="t"\\} ${expected}$`,
        'm',
      ),
    );
  }
});

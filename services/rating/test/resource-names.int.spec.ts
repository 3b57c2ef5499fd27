import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { type SampleEvent } from '@metering/contracts';
import { waitFor } from '@metering/testing';
import { RatingWorld, encodeAll, expectedLedger } from './rating-harness';
import { generateSamples } from './sample-stream';

// The real rating process records what the collectors call each resource in the ledger's
// `resource` dimension, in the batch's transaction: a rename mid-stream is recorded (the name of
// the latest observation wins, a late redelivery of an old sample does not undo it), first and
// last seen bracket the stream, and the usage ledger stays exact, also across a SIGKILL.
const ZONES = { acme: 'UTC', globex: 'Asia/Kolkata' };
const START = Date.UTC(2026, 9, 31, 20, 0, 0);
const RENAMED = 'Ωμέγα 株式会社';

let world: RatingWorld | undefined;
afterEach(async () => {
  await world?.tearDown();
  world = undefined;
});

/** Even resources are renamed half way; containers change image then too; VMs have a flavour. */
function described(samples: readonly SampleEvent[]): SampleEvent[] {
  const seen = new Map<string, number>();
  const total = new Map<string, number>();
  for (const s of samples) total.set(s.resource.id, (total.get(s.resource.id) ?? 0) + 1);
  return samples.map((s) => {
    const i = seen.get(s.resource.id) ?? 0;
    seen.set(s.resource.id, i + 1);
    const late = i >= total.get(s.resource.id)! / 2;
    const index = Number(s.resource.id.split('-').at(-1));
    const name = late && index % 2 === 0 ? `${RENAMED} ${index}` : `web-${index}`;
    const resource =
      s.resource.kind === 'container'
        ? { ...s.resource, name, image: late ? 'local/busybox:2' : 'local/busybox:1' }
        : { ...s.resource, name, flavour: 'm1.small' };
    return { ...s, resource };
  });
}

interface ResourceRow {
  tenant_id: string;
  resource_id: string;
  kind: string;
  name: string;
  image: string | null;
  flavour: string | null;
  host: string;
  first_ms: string;
  last_ms: string;
}

describe('rating: the resource dimension against the real broker and database', () => {
  test('names, images and flavours are recorded, a rename wins by observed time, the ledger stays exact across a SIGKILL', async () => {
    world = new RatingWorld();
    await world.setUp(2, ZONES);
    const stream = described(
      generateSamples({
        seed: 71,
        tenants: Object.keys(ZONES),
        resources: 8,
        samplesPerResource: 120,
        startMs: START,
      }),
    );
    // A redelivery of each resource's first sample (its old name) after everything else.
    const firsts = [...new Map([...stream].reverse().map((s) => [s.resource.id, s])).values()];
    const all = [...stream, ...firsts];
    await world.produce(encodeAll(all), (i) => all[i]!.resource.id);

    const w = world;
    let rating = w.startRating('names-0');
    await waitFor(
      async () => {
        const { done, total } = await w.progress();
        return Number(done) >= 0.5 * Number(total);
      },
      { timeoutMs: 120_000, intervalMs: 100, description: 'half of the stream rated' },
    );
    await w.kill(rating, 'SIGKILL');
    rating = w.startRating('names-1');
    await w.waitForCatchUp(120_000);

    assert.deepEqual(await w.ledger(), expectedLedger(all, ZONES));

    const rows = await w.ds.query<ResourceRow[]>(
      `SELECT tenant_id, resource_id, kind, name, image, flavour, host,
              (extract(epoch from first_seen) * 1000)::bigint::text AS first_ms,
              (extract(epoch from last_seen) * 1000)::bigint::text AS last_ms
       FROM resource ORDER BY resource_id`,
    );
    const ids = [...new Set(stream.map((s) => s.resource.id))].sort();
    assert.deepEqual(
      rows.map((r) => r.resource_id),
      ids,
    );
    for (const row of rows) {
      const mine = stream.filter((s) => s.resource.id === row.resource_id);
      const last = mine.reduce((a, b) =>
        Date.parse(b.observedAt) >= Date.parse(a.observedAt) ? b : a,
      );
      const times = mine.map((s) => Date.parse(s.observedAt));
      assert.equal(row.tenant_id, last.resource.tenantId);
      assert.equal(row.kind, last.resource.kind);
      assert.equal(row.name, last.resource.name, `${row.resource_id}: the latest name`);
      assert.equal(row.image, last.resource.image ?? null);
      assert.equal(row.flavour, last.resource.flavour ?? null);
      assert.equal(row.host, 'node-1');
      assert.equal(Number(row.first_ms), Math.min(...times));
      const lag = Math.max(...times) - Number(row.last_ms);
      assert.ok(lag >= 0 && lag < 5 * 60_000, `${row.resource_id}: last seen lags ${lag} ms`);
    }
    assert.ok(
      rows.some((r) => r.name.startsWith(RENAMED)),
      'some resources were renamed to a non-ASCII name',
    );
    assert.ok(rows.some((r) => r.name.startsWith('web-')));
  });
});

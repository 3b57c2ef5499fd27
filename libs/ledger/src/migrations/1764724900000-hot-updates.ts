import { type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * Room in each page for the rows rating updates in place (docs/adr/0014-rating-scale-out.md,
 * fifteenth session): an instance's state and a resource's dimension row are rewritten every
 * batch window, a bucket and its charge every window of its hour. PostgreSQL writes an updated
 * row's new version into the same page when there is room and no indexed column changed (a
 * heap-only tuple: no new index entries, less WAL, pruned in place); with pages filled to the brim
 * (fillfactor 100, the default) the new version goes to another page and every index of the table
 * gets an entry for it. On the bench's ledger 7 % of the buckets' updates and 19–22 % of the
 * states' were in place. Fill factors below 100 leave that room in pages filled from now on
 * (existing pages keep theirs until rewritten): the small tables rewritten whole (states,
 * resources) leave half; the buckets and their charges, a row per resource and hour that stops
 * changing once its hour is over, a tenth (the table grows by about that).
 */
export class HotUpdates1764724900000 implements MigrationInterface {
  name = 'HotUpdates1764724900000';

  async up(q: QueryRunner): Promise<void> {
    for (const [table, fillfactor] of FILL_FACTORS)
      await q.query(`ALTER TABLE ${table} SET (fillfactor = ${fillfactor})`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const [table] of FILL_FACTORS) await q.query(`ALTER TABLE ${table} RESET (fillfactor)`);
  }
}

const FILL_FACTORS: readonly (readonly [string, number])[] = [
  ['instance_state', 50],
  ['resource', 50],
  ['usage_bucket', 90],
  ['usage_bucket_charge', 90],
];

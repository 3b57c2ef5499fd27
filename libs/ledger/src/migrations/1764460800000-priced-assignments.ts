import { type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * - `rating_priced_assignment`: the plan assignments rating's bucket charges were last priced
 *   with, per tenant. A rating process compares them with `plan_assignment` when it starts, so an
 *   assignment back-dated while no rating process ran is noticed and the affected months are
 *   priced again (services/rating README, "Back-dated plan assignments").
 * - A partial index for the idle-window sweep: it runs every few seconds and looks only at
 *   instances with an open usage window, while `instance_state` keeps every instance ever seen.
 */
export class PricedAssignments1764460800000 implements MigrationInterface {
  name = 'PricedAssignments1764460800000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE rating_priced_assignment (
        tenant_id text NOT NULL,
        effective_from timestamptz NOT NULL,
        plan_id text NOT NULL,
        plan_version integer NOT NULL,
        PRIMARY KEY (tenant_id, effective_from)
      )`);
    // Until now rating priced with the assignments as they are: record them, so the first start
    // after this upgrade does not price every tenant's history again.
    await q.query(
      `INSERT INTO rating_priced_assignment (tenant_id, effective_from, plan_id, plan_version)
       SELECT tenant_id, effective_from, plan_id, plan_version FROM plan_assignment`,
    );
    await q.query(
      `CREATE INDEX instance_state_open_window ON instance_state (updated_at)
       WHERE pending_usage IS NOT NULL`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX instance_state_open_window`);
    await q.query(`DROP TABLE rating_priced_assignment`);
  }
}

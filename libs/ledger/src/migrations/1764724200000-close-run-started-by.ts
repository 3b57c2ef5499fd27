import { type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * Who closed a month (billing-api's `billing schedule` command shows it): `started_by` is
 * `schedule` (billing-api's own timer or the close-due run of the CronJob) or `cli` (an operator's
 * `billing close <period>`); `instance` says where (host:pid, and the user for the CLI). Rows
 * written before this migration were the scheduler's.
 */
export class CloseRunStartedBy1764724200000 implements MigrationInterface {
  name = 'CloseRunStartedBy1764724200000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `ALTER TABLE billing_close_run ADD COLUMN started_by text NOT NULL DEFAULT 'schedule'
         CONSTRAINT billing_close_run_started_by_check CHECK (started_by IN ('schedule', 'cli'))`,
    );
    await q.query(`CREATE INDEX billing_close_run_started ON billing_close_run (started_at DESC)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX billing_close_run_started`);
    await q.query(`ALTER TABLE billing_close_run DROP COLUMN started_by`);
  }
}

import { type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * A month closed through the API (`POST /v1/periods/:period/close`) is recorded too, as
 * `started_by = 'api'`, so `billing schedule` shows the last run whoever made it.
 */
export class CloseRunByApi1764724300000 implements MigrationInterface {
  name = 'CloseRunByApi1764724300000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `ALTER TABLE billing_close_run DROP CONSTRAINT billing_close_run_started_by_check,
         ADD CONSTRAINT billing_close_run_started_by_check
           CHECK (started_by IN ('schedule', 'cli', 'api'))`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`UPDATE billing_close_run SET started_by = 'cli' WHERE started_by = 'api'`);
    await q.query(
      `ALTER TABLE billing_close_run DROP CONSTRAINT billing_close_run_started_by_check,
         ADD CONSTRAINT billing_close_run_started_by_check
           CHECK (started_by IN ('schedule', 'cli'))`,
    );
  }
}

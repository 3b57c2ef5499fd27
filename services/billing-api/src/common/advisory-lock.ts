import { type DataSource } from 'typeorm';
import { z } from 'zod';
import { execute, firstRow } from './sql-rows';

const LockedRow = z.object({ ok: z.boolean() });

/**
 * Runs `work` while holding the session-level PostgreSQL advisory lock `key` on a connection of
 * its own, or returns `skipped` at once when another session holds it (pg_try_advisory_lock).
 * For background work that every instance schedules and one at a time should do.
 */
export async function withAdvisoryLock<T, S>(
  dataSource: DataSource,
  key: string,
  work: () => Promise<T>,
  skipped: S,
): Promise<T | S> {
  const lock = dataSource.createQueryRunner();
  await lock.connect();
  try {
    const got = await firstRow(lock, LockedRow, `SELECT pg_try_advisory_lock(hashtext($1)) AS ok`, [
      key,
    ]);
    if (got?.ok !== true) return skipped;
    try {
      return await work();
    } finally {
      await execute(lock, `SELECT pg_advisory_unlock(hashtext($1))`, [key]);
    }
  } finally {
    await lock.release();
  }
}

import { type DataSource } from 'typeorm';

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
    const got = (await lock.query(`SELECT pg_try_advisory_lock(hashtext($1)) AS ok`, [key])) as {
      ok: boolean;
    }[];
    if (got[0]?.ok !== true) return skipped;
    try {
      return await work();
    } finally {
      await lock.query(`SELECT pg_advisory_unlock(hashtext($1))`, [key]);
    }
  } finally {
    await lock.release();
  }
}

/**
 * Names for the ledger's statements, so that each pooled connection has PostgreSQL parse and plan
 * a statement once and then only binds and runs it (a named prepared statement, which node-postgres
 * prepares on a connection the first time it runs the name there). One name per statement text in
 * the process, never one name for two texts (node-postgres refuses that, and every LedgerDb of
 * the process shares the pool's connections): the registry is the process's.
 *
 * Bounded: past `max` texts a statement runs unnamed (parsed each time), so a statement whose text
 * is built from values could never fill the server's memory with prepared statements. `forget`
 * starts new names, for when the server no longer has or takes those it was given (a plan whose
 * result type a migration changed, a pooler that discarded the session's statements).
 */
export class StatementNames {
  private readonly names = new Map<string, string>();
  private generation = 0;
  /** When the last forgets happened (ms), the latest last. */
  private readonly forgets: number[] = [];
  private off = false;

  constructor(
    private readonly max = 256,
    /** This many forgets within `withinMs` and names are given no more (a pooler between). */
    private readonly giveUpAfter = 3,
    private readonly withinMs = 10 * 60_000,
  ) {}

  /** The text's name (null: unnamed: the registry is full, or names were given up). */
  nameOf(sql: string): string | null {
    if (this.off) return null;
    const known = this.names.get(sql);
    if (known !== undefined) return known;
    if (this.names.size >= this.max) return null;
    const name = `ledger_${this.generation}_${this.names.size}`;
    this.names.set(sql, name);
    return name;
  }

  /**
   * Every text gets a new name from now on (none of the old ones is given again). Returns false
   * when the server keeps losing them (`giveUpAfter` times within `withinMs`: a pooler that hands
   * each transaction another session, PgBouncer in transaction mode before 1.21): from then on
   * every statement runs unnamed, as with DATABASE_PREPARED_STATEMENTS=false.
   */
  forget(nowMs: number): boolean {
    this.generation += 1;
    this.names.clear();
    this.forgets.push(nowMs);
    while (this.forgets.length > 0 && this.forgets[0]! <= nowMs - this.withinMs) {
      this.forgets.shift();
    }
    if (this.forgets.length >= this.giveUpAfter) this.off = true;
    return !this.off;
  }

  /** Whether names are still given (false once given up). */
  get naming(): boolean {
    return !this.off;
  }
}

/**
 * SQLSTATEs that say the server's prepared statements are not what the client thinks: 0A000 with
 * "cached plan must not change result type" (a migration changed a table a statement returns rows
 * of), 26000 (the session lost them: a pooler's DISCARD ALL), 42P05 (it has one of that name from
 * another client: a transaction pooler).
 */
export function isStalePreparedStatement(error: unknown): boolean {
  const code = (error as { code?: unknown } | null | undefined)?.code;
  if (code === '26000' || code === '42P05') return true;
  return (
    code === '0A000' &&
    error instanceof Error &&
    error.message.includes('cached plan must not change result type')
  );
}

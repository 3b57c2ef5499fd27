import { type UnpricedPiece, positionKey } from '../domain';

/**
 * Pieces held by default: four pricing pages' worth (a page is 5,000 pieces), about 12 MB of heap
 * at most (50,000 pieces of one or two parts measured 30 MB). It is reached only while pricing
 * trails a backlog; the months dropped then are read from the table, as before.
 */
export const DEFAULT_HELD_PIECES = 20_000;

/** A month as the memo keys it. */
interface Month {
  readonly tenantId: string;
  readonly period: string;
}

/**
 * The unpriced-piece rows this process inserted, by row id, with the pieces it inserted them with
 * (docs/adr/0014-rating-scale-out.md): the pricing pass of a month reads the pieces of those rows
 * from here instead of from the row, so a batch's pieces are not read back, parsed and promoted a
 * second time (20–50 MB less promoted a million samples in the bench). Only an optimisation,
 * never an authority: a row is insert-once and delete-once and its id is never reused, so a row
 * the page finds under a held id holds exactly the pieces held; a row not held (written by another
 * instance, or before a restart, or dropped from here) is read from the table as before. Whatever
 * is dropped, by the bound or by a pass that rolls back after `forget`, is read from the table.
 *
 * Bounded: beyond `maxPieces` the months held longest are dropped whole. A held row that another
 * instance priced (the sweep steps in for an overdue month) is dropped once a page of its month
 * shows it gone.
 */
export class WrittenPieces {
  /** By positionKey, each month's rows by id (ids in insertion order). */
  private readonly months = new Map<string, Map<string, readonly UnpricedPiece[]>>();
  private held = 0;
  /** Whose rows are held: the tenants whose months this instance's passes price. */
  private pricedHere: (tenantId: string) => boolean = () => true;

  constructor(private readonly maxPieces = DEFAULT_HELD_PIECES) {}

  /**
   * Holds only the rows of the tenants `owns` says this instance prices (the pricing stage's
   * affinity, pricing/tenant-affinity.ts): with several instances, the others' rows would only
   * wait here for the bound, never asked for.
   */
  holdOnly(owns: (tenantId: string) => boolean): void {
    this.pricedHere = owns;
  }

  /** Pieces held now (metrics and specs). */
  get size(): number {
    return this.held;
  }

  /** A row of `month` inserted with `pieces`. */
  remember(id: string, month: Month, pieces: readonly UnpricedPiece[]): void {
    if (pieces.length > this.maxPieces || !this.pricedHere(month.tenantId)) return;
    const key = positionKey(month.tenantId, month.period);
    let rows = this.months.get(key);
    if (rows === undefined) {
      rows = new Map<string, readonly UnpricedPiece[]>();
      this.months.set(key, rows);
    }
    const before = rows.get(id);
    if (before !== undefined) this.held -= before.length;
    rows.set(id, pieces);
    this.held += pieces.length;
    for (const [oldest, dropped] of this.months) {
      if (this.held <= this.maxPieces) break;
      this.months.delete(oldest);
      for (const p of dropped.values()) this.held -= p.length;
    }
  }

  /**
   * The rows of `month` held now: a copy, so that what a page asked for stays there while its
   * statement runs, whatever batches commit meanwhile.
   */
  heldOf(month: Month): ReadonlyMap<string, readonly UnpricedPiece[]> {
    const rows = this.months.get(positionKey(month.tenantId, month.period));
    return rows === undefined ? new Map() : new Map(rows);
  }

  /**
   * A page of `month` was read, asked with `asked` (heldOf's rows then): its rows `ids`, in id
   * order, and `complete` (no row after them). An asked row not among them is gone (priced
   * elsewhere) when the page is complete or it lies before the page's last row (a page is the
   * month's oldest rows); it is dropped. Rows held since the page was asked for are left: a batch
   * may have committed them after the page's snapshot.
   */
  pageRead(month: Month, asked: Iterable<string>, ids: readonly string[], complete: boolean): void {
    const seen = new Set(ids);
    const last = ids.length === 0 ? null : BigInt(ids[ids.length - 1]!);
    const gone: string[] = [];
    for (const id of asked)
      if (!seen.has(id) && (complete || last === null || BigInt(id) < last)) gone.push(id);
    this.forget(month, gone);
  }

  /** Rows deleted (priced): not held any more. */
  forget(month: Month, ids: Iterable<string>): void {
    const key = positionKey(month.tenantId, month.period);
    const rows = this.months.get(key);
    if (rows === undefined) return;
    for (const id of ids) {
      const pieces = rows.get(id);
      if (pieces === undefined) continue;
      rows.delete(id);
      this.held -= pieces.length;
    }
    if (rows.size === 0) this.months.delete(key);
  }
}

import { parseArgs } from 'node:util';
import { UsageError, printable, rejectNul } from './cli-command';

/** Which dead letters a command looks at. Empty `reasons`: every reason. */
export interface DlqFilter {
  readonly reasons: ReadonlySet<string>;
  /** `failedAt` at or after this (epoch ms), or no lower bound. */
  readonly fromMs: number | null;
  /** `failedAt` before this (epoch ms), or no upper bound. */
  readonly toMs: number | null;
  /** The original sample's `resource.tenantId`, exactly; records without one never match. */
  readonly tenant: string | null;
}

export type DlqOptions =
  | { readonly action: 'help' }
  | {
      readonly action: 'list' | 'replay';
      readonly filter: DlqFilter;
      /** At most this many selected records (the first ones, in DLQ order); null: all. */
      readonly limit: number | null;
      readonly json: boolean;
      readonly dryRun: boolean;
      readonly yes: boolean;
      readonly keyFromResource: boolean;
    };

export const DLQ_USAGE = `usage:
  npm run rating -- dlq list   [filters] [--key-from-resource] [--json]
  npm run rating -- dlq replay [filters] [--key-from-resource] [--dry-run | --yes] [--json]
filters:
  --reason CODE    a reason code (e.g. SAMPLE_IN_FUTURE); repeat for several; default: all
  --from ISO       failed at or after this time, e.g. 2026-12-01T00:00:00Z
  --to ISO         failed before this time
  --tenant ID      the original sample's resource.tenantId
  --limit N        the first N selected records
list prints the selected dead letters of SAMPLES_DLQ_TOPIC and a summary by reason.
replay re-publishes the selected replayable ones (original key and bytes) to their original
topic, each DLQ record at most once (recorded in the ledger's dlq_replay table); it prints
what it will do first and does it only with --yes.
--key-from-resource  publish with resource.id as the key (fixes KEY_MISMATCH records)
Exit codes: 0 done, 1 failure, 2 bad arguments (or replay without --yes).`;

/** Upper-case words joined by underscores, as every reason code is (INVALID_JSON, KEY_MISMATCH). */
const REASON_CODE = /^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$/;
const MAX_REASON_LENGTH = 64;
/** A date, or a date and time with seconds optional and an explicit zone (Z or ±hh:mm). */
const ISO_TIME = /^\d{4}-\d\d-\d\d(T\d\d:\d\d(:\d\d(\.\d{1,9})?)?(Z|[+-]\d\d:\d\d))?$/;
const MAX_TENANT_LENGTH = 256;
// eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** Parses the arguments after `dlq`; throws UsageError for anything it does not accept. */
export function parseDlqArgs(args: readonly string[]): DlqOptions {
  rejectNul(args);
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      allowPositionals: true,
      strict: true,
      tokens: true,
      options: {
        reason: { type: 'string', multiple: true },
        from: { type: 'string' },
        to: { type: 'string' },
        tenant: { type: 'string' },
        limit: { type: 'string' },
        json: { type: 'boolean', default: false },
        'dry-run': { type: 'boolean', default: false },
        yes: { type: 'boolean', default: false },
        'key-from-resource': { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
    });
  } catch (error) {
    // node:util's own messages name the option ("Unknown option '--x'").
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const { values, positionals, tokens } = parsed;
  // node:util keeps the last of a repeated option silently: `--tenant a --tenant b` is a mistake.
  const seen = new Set<string>();
  for (const t of tokens) {
    if (t.kind !== 'option' || t.name === 'reason') continue;
    if (seen.has(t.name)) throw new UsageError(`--${t.name} is given more than once`);
    seen.add(t.name);
  }
  if (values.help) return { action: 'help' };
  const [action, ...extra] = positionals;
  if (action === undefined) throw new UsageError('a subcommand is required: list or replay');
  if (action !== 'list' && action !== 'replay') {
    throw new UsageError(`unknown subcommand "${printable(action)}": list or replay`);
  }
  if (extra.length > 0) throw new UsageError(`unexpected argument "${printable(extra[0]!)}"`);
  if (values['dry-run'] && values.yes)
    throw new UsageError('--dry-run and --yes exclude each other');
  if (action === 'list' && (values['dry-run'] || values.yes)) {
    throw new UsageError('--dry-run and --yes are options of replay');
  }
  const fromMs = parseTime('from', values.from);
  const toMs = parseTime('to', values.to);
  if (fromMs !== null && toMs !== null && toMs <= fromMs) {
    throw new UsageError('--to must be after --from');
  }
  return {
    action,
    filter: {
      reasons: new Set((values.reason ?? []).map(parseReason)),
      fromMs,
      toMs,
      tenant: values.tenant === undefined ? null : parseTenant(values.tenant),
    },
    limit: values.limit === undefined ? null : parseLimit(values.limit),
    json: values.json,
    dryRun: values['dry-run'],
    yes: values.yes,
    keyFromResource: values['key-from-resource'],
  };
}

function parseReason(code: string): string {
  if (code.length > MAX_REASON_LENGTH || !REASON_CODE.test(code)) {
    throw new UsageError(
      `--reason: "${printable(code)}" is not a reason code (upper-case words joined by _, e.g. SAMPLE_IN_FUTURE)`,
    );
  }
  return code;
}

function parseTime(name: string, value: string | undefined): number | null {
  if (value === undefined) return null;
  const ms = ISO_TIME.test(value) ? Date.parse(value) : Number.NaN;
  // Date.parse accepts 2026-02-31 (as 3 March): a time must print back as the same day.
  if (!Number.isFinite(ms) || !sameCalendarDay(value, ms)) {
    throw new UsageError(
      `--${name}: "${printable(value)}" is not an ISO-8601 time with a zone, e.g. 2026-12-01T00:00:00Z`,
    );
  }
  return ms;
}

function sameCalendarDay(value: string, ms: number): boolean {
  const zone = /(Z|[+-]\d\d:\d\d)$/.exec(value)?.[1] ?? 'Z';
  const offsetMin =
    zone === 'Z'
      ? 0
      : (zone.startsWith('-') ? -1 : 1) * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4)));
  return new Date(ms + offsetMin * 60_000).toISOString().slice(0, 10) === value.slice(0, 10);
}

function parseTenant(value: string): string {
  if (value.length === 0 || value.length > MAX_TENANT_LENGTH || CONTROL.test(value)) {
    throw new UsageError(
      `--tenant: must be 1 to ${MAX_TENANT_LENGTH} characters without control characters`,
    );
  }
  return value;
}

function parseLimit(value: string): number {
  const n = /^\d{1,9}$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isInteger(n) || n < 1) {
    throw new UsageError(
      `--limit: "${printable(value)}" is not a whole number from 1 to 999999999`,
    );
  }
  return n;
}

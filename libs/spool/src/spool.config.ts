import { SpoolConfigError } from './spool.errors';

/**
 * When segment and cursor writes are forced to disk:
 * - `batch`: after every append() and ack() (each publisher linger batch): a power loss
 *   loses at most the batch being written. The default.
 * - `interval`: every fsyncIntervalMs; a power loss loses up to that much.
 * - `never`: left to the OS; survives a process crash, not a power loss.
 */
export type FsyncPolicy = 'batch' | 'interval' | 'never';
export const FSYNC_POLICIES: readonly FsyncPolicy[] = ['batch', 'interval', 'never'];

export interface DiskSpoolSettings {
  /** Bound on the segment files' total size; see DiskSpool for what happens at the bound. */
  maxBytes: number;
  /** A segment is closed and a new one started beyond this size. */
  segmentBytes: number;
  fsync: FsyncPolicy;
  fsyncIntervalMs: number;
  /** Largest key + value accepted; a sample is about 1 KiB. */
  maxRecordBytes: number;
}

export interface PublisherSettings {
  /** How long publish() batches in memory before one disk append. */
  lingerMs: number;
  /** Records per Kafka send (and per disk append when publish() outruns the linger). */
  maxBatchRecords: number;
  /** Records held in memory while the disk append fails; beyond it the oldest running go. */
  maxPendingRecords: number;
  /** Backoff after a failed send: initial, doubling up to max, retried forever. */
  backoffInitialMs: number;
  backoffMaxMs: number;
  /** Default deadline of close() for draining to Kafka; the rest stays on disk. */
  closeTimeoutMs: number;
  /** Health says `degraded` once the oldest unsent sample is older than this. */
  degradedAfterMs: number;
}

export type SpoolSettings = DiskSpoolSettings & PublisherSettings;

const MiB = 1024 * 1024;

export const SPOOL_DEFAULTS: Readonly<SpoolSettings> = {
  maxBytes: 256 * MiB,
  segmentBytes: 8 * MiB,
  fsync: 'batch',
  fsyncIntervalMs: 1_000,
  maxRecordBytes: 1 * MiB,
  lingerMs: 50,
  maxBatchRecords: 500,
  maxPendingRecords: 100_000,
  backoffInitialMs: 200,
  backoffMaxMs: 10_000,
  closeTimeoutMs: 10_000,
  degradedAfterMs: 30_000,
};

/** Applies defaults and checks every value; throws SpoolConfigError naming the setting. */
/** Each unset (or undefined) setting takes its default. */
export type SpoolSettingsInput = { [K in keyof SpoolSettings]?: SpoolSettings[K] | undefined };

export function resolveSpoolSettings(input: SpoolSettingsInput = {}): SpoolSettings {
  const given = definedOnly(input);
  const settings: SpoolSettings = { ...SPOOL_DEFAULTS, ...given };
  // The default record limit shrinks with a small spool; an explicit one must fit.
  if (given.maxRecordBytes === undefined) {
    settings.maxRecordBytes = Math.min(settings.maxRecordBytes, settings.maxBytes);
  }
  atLeast('maxBytes', settings.maxBytes, 4096);
  atLeast('segmentBytes', settings.segmentBytes, 1024);
  atLeast('maxRecordBytes', settings.maxRecordBytes, 64);
  if (settings.maxRecordBytes > settings.maxBytes) {
    throw new SpoolConfigError('maxRecordBytes', `must not exceed maxBytes (${settings.maxBytes})`);
  }
  if (!FSYNC_POLICIES.includes(settings.fsync)) {
    throw new SpoolConfigError('fsync', `"${String(settings.fsync)}" is not batch|interval|never`);
  }
  atLeast('fsyncIntervalMs', settings.fsyncIntervalMs, 1);
  atLeast('lingerMs', settings.lingerMs, 0);
  atLeast('maxBatchRecords', settings.maxBatchRecords, 1);
  atLeast('maxPendingRecords', settings.maxPendingRecords, settings.maxBatchRecords);
  atLeast('backoffInitialMs', settings.backoffInitialMs, 1);
  atLeast('backoffMaxMs', settings.backoffMaxMs, settings.backoffInitialMs);
  atLeast('closeTimeoutMs', settings.closeTimeoutMs, 0);
  atLeast('degradedAfterMs', settings.degradedAfterMs, 1);
  return settings;
}

const ENV_NAMES: Readonly<Record<keyof SpoolSettings, string>> = {
  maxBytes: 'SPOOL_MAX_BYTES',
  segmentBytes: 'SPOOL_SEGMENT_BYTES',
  fsync: 'SPOOL_FSYNC',
  fsyncIntervalMs: 'SPOOL_FSYNC_INTERVAL_MS',
  maxRecordBytes: 'SPOOL_MAX_RECORD_BYTES',
  lingerMs: 'SPOOL_LINGER_MS',
  maxBatchRecords: 'SPOOL_BATCH_RECORDS',
  maxPendingRecords: 'SPOOL_MAX_PENDING_RECORDS',
  backoffInitialMs: 'SPOOL_BACKOFF_INITIAL_MS',
  backoffMaxMs: 'SPOOL_BACKOFF_MAX_MS',
  closeTimeoutMs: 'SPOOL_CLOSE_TIMEOUT_MS',
  degradedAfterMs: 'SPOOL_DEGRADED_AFTER_MS',
};

const SIZE_SETTINGS = new Set<keyof SpoolSettings>(['maxBytes', 'segmentBytes', 'maxRecordBytes']);
const UNITS: Readonly<Record<string, number>> = { '': 1, KiB: 1024, MiB: MiB, GiB: 1024 * MiB };

/**
 * Reads the spool settings from an environment-like object; services call it from their
 * config.ts with process.env. SPOOL_DIR is required (a directory that survives restarts:
 * a host path or persistent volume, not the container's writable layer). Sizes accept a
 * KiB/MiB/GiB suffix: SPOOL_MAX_BYTES=512MiB.
 */
export function spoolSettingsFromEnv(env: Readonly<Record<string, string | undefined>>): {
  dir: string;
  settings: SpoolSettings;
} {
  const dir = env.SPOOL_DIR?.trim() ?? '';
  if (dir === '') throw new SpoolConfigError('SPOOL_DIR', 'required, e.g. /var/lib/metering/spool');
  const input: Partial<Record<keyof SpoolSettings, unknown>> = {};
  for (const [setting, name] of Object.entries(ENV_NAMES) as [keyof SpoolSettings, string][]) {
    const raw = env[name]?.trim();
    if (raw === undefined || raw === '') continue;
    if (setting === 'fsync') {
      input.fsync = raw;
      continue;
    }
    const match = /^(\d+)(KiB|MiB|GiB)?$/.exec(raw);
    const unit = match?.[2] ?? '';
    if (!match || (unit !== '' && !SIZE_SETTINGS.has(setting))) {
      throw new SpoolConfigError(name, `"${raw}" is not a whole number`);
    }
    input[setting] = Number(match[1]) * (UNITS[unit] ?? 1);
  }
  try {
    return { dir, settings: resolveSpoolSettings(input as Partial<SpoolSettings>) };
  } catch (error) {
    if (error instanceof SpoolConfigError && error.setting in ENV_NAMES) {
      throw new SpoolConfigError(ENV_NAMES[error.setting as keyof SpoolSettings], error.problem);
    }
    throw error;
  }
}

function definedOnly<T extends object>(input: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(input).filter(([, value]) => value !== undefined)) as {
    [K in keyof T]?: Exclude<T[K], undefined>;
  };
}

function atLeast(setting: string, value: number, min: number): void {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new SpoolConfigError(setting, `must be a whole number ≥ ${min}, got ${value}`);
  }
}

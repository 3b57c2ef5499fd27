import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { invoiceEventIdOf } from '@metering/contracts';
import { localInfra, waitFor } from '@metering/testing';
import { ADMIN_KEY, BillingHarness } from './billing-harness';
import { WebhookReceiver } from './webhook-receiver';

/**
 * The operator CLI as an operator runs it: the compiled `billing.cli.js` in its own process
 * (stderr a pipe, not a terminal) against the real PostgreSQL schema of a real billing-api, whose
 * webhook worker delivers to a real receiver on loopback.
 */
const CLI = join(__dirname, '../src/cli/billing.cli.js');
const h = new BillingHarness();
const receiver = new WebhookReceiver();
const PERIOD = '2026-10';
const TENANTS = Array.from({ length: 12 }, (_, i) => `cli-t${String(i).padStart(2, '0')}`);

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function cli(args: readonly string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      {
        env: {
          PATH: process.env.PATH ?? '',
          DATABASE_URL: localInfra.postgresUrl,
          DATABASE_SCHEMA: h.schema,
          ADMIN_API_KEY: ADMIN_KEY,
          MIGRATE_ON_START: 'false',
          CLOSE_GRACE_MS: '0',
          LOG_LEVEL: 'silent',
          ...env,
        },
        timeout: 60_000,
        maxBuffer: 16 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

const api = async (path: string): Promise<unknown> => {
  const r = await h.call('GET', path);
  assert.equal(r.status, 200, r.text);
  return r.json;
};

let endpointId = '';

before(async () => {
  await h.start({
    WEBHOOK_ALLOWED_CIDRS: '127.0.0.1/32',
    WEBHOOK_POLL_MS: '50',
    WEBHOOK_RETRY_BASE_MS: '50',
    WEBHOOK_RETRY_MAX_MS: '200',
  });
  await receiver.start();
  await h.plan({ id: 'std', cpu: { tiers: [{ upTo: null, unitPrice: '0.040' }] } });
  for (const [i, id] of TENANTS.entries()) {
    await h.tenant(id);
    await h.assign(id, 'std', '2026-10-01T00:00:00Z');
    await h.bucket(id, `c-${id}`, '2026-10-05T10:00:00Z', String(i + 1));
  }
  const r = await h.call('POST', '/v1/webhook-endpoints', {
    body: { url: receiver.url, eventTypes: ['invoice.finalized'], description: 'ERP' },
  });
  assert.equal(r.status, 201, r.text);
  const endpoint = r.json as { id: string; secret: string };
  endpointId = endpoint.id;
  receiver.secrets = [endpoint.secret];
});

after(async () => {
  await h.stop();
  await receiver.stop();
});

const COMMANDS = [
  [],
  ['close'],
  ['close-due'],
  ['export'],
  ['schedule'],
  ['deliveries'],
  ['deliveries', 'list'],
  ['deliveries', 'redeliver'],
  ['endpoints'],
  ['endpoints', 'list'],
];

test('help for each command, as `help <command>` and as `<command> --help`, on stdout', async () => {
  for (const path of COMMANDS) {
    const viaHelp = await cli(['help', ...path]);
    const viaFlag = await cli([...path, '--help']);
    const name = ['billing', ...path].join(' ');
    for (const r of [viaHelp, viaFlag]) {
      assert.equal(r.code, 0, `${name}: ${r.stderr}`);
      assert.ok(r.stdout.startsWith(`Usage: ${name} `), r.stdout);
      assert.equal(r.stderr, '');
    }
    assert.equal(viaHelp.stdout, viaFlag.stdout, name);
  }
  const unknown = await cli(['help', 'frobnicate']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /^billing: unknown command 'frobnicate'\nUsage: billing /);
});

test('hostile arguments: exit 2, one line naming the argument, then the usage; nothing done', async () => {
  const huge = 'x'.repeat(100_000);
  const cases: [string[], RegExp][] = [
    [['frobnicate'], /^billing: unknown command 'frobnicate'/],
    [['--json'], /^billing: unknown option '--json'/],
    [['close'], /^billing close: missing required argument 'period'/],
    [
      ['close', '2026-13'],
      /^billing close: period must be a month "YYYY-MM".*\(given "2026-13"\)$/m,
    ],
    [['close', huge], /^billing close: period must be .*\(100000 characters\)"\)$/m],
    [['close', '2026-10', '--bogus'], /^billing close: unknown option '--bogus'/],
    [['close', '2026-10', '2026-11'], /^billing close: too many arguments/],
    [
      ['deliveries', 'list', '--limit', '-5'],
      /^billing deliveries list: --limit must be a whole number from 1 to 200 \(given "-5"\)/,
    ],
    [['deliveries', 'list', '--limit', 'NaN'], /^billing deliveries list: --limit must/],
    [['deliveries', 'list', '--limit', '0'], /^billing deliveries list: --limit must/],
    [['deliveries', 'list', '--limit', '201'], /^billing deliveries list: --limit must/],
    [
      ['endpoints', 'list', '--status', 'gone'],
      /^billing endpoints list: --status must be one of enabled, disabled/,
    ],
    [['endpoints', 'list', '--limit', '0'], /^billing endpoints list: --limit must/],
    [['deliveries', 'list', '--limit', '1e3'], /^billing deliveries list: --limit must/],
    [
      ['deliveries', 'list', '--limit', '9'.repeat(400)],
      /^billing deliveries list: --limit must.*\(400 characters\)/,
    ],
    [
      ['deliveries', 'list', '--limit', '5', '--limit', '6'],
      /^billing deliveries list: --limit is given more than once$/m,
    ],
    [
      ['deliveries', 'list', '--status', 'succeeded'],
      /^billing deliveries list: --status must be one of pending, delivered, failed/,
    ],
    [
      ['deliveries', 'list', '--endpoint', 'wé_ünï'],
      /^billing deliveries list: --endpoint must be an id .*\(given "wé_ünï"\)/,
    ],
    [
      ['deliveries', 'list', '--endpoint', 'a\u001b[2Jb\u202e'],
      /^billing deliveries list: --endpoint .*\(given "a\\u001b\[2Jb\\u202e"\)/,
    ],
    [
      ['deliveries', 'list', '--cursor', 'not-a-cursor'],
      /^billing deliveries list: --cursor must be the nextCursor/,
    ],
    [
      ['deliveries', 'list', '--endpoint'],
      /^billing deliveries list: option '--endpoint <id>' argument missing/,
    ],
    [
      ['deliveries', 'redeliver'],
      /^billing deliveries redeliver: missing required argument 'deliveryId'/,
    ],
    [
      ['deliveries', 'redeliver', 'abc'],
      /^billing deliveries redeliver: deliveryId must be a delivery id/,
    ],
    [
      ['deliveries', 'redeliver', '１２'],
      /^billing deliveries redeliver: deliveryId must be a delivery id/,
    ],
    [
      ['deliveries', 'redeliver', '-1'],
      /^billing deliveries redeliver: deliveryId must be a delivery id.*\(given "-1"\)/,
    ],
    [['deliveries', 'redeliver', '1'.repeat(30)], /^billing deliveries redeliver: deliveryId must/],
    [['export', PERIOD, '--format', 'xml'], /^billing export: --format must be csv or jsonl/],
    [
      ['export', PERIOD, '--out', 'a', '--out', 'b'],
      /^billing export: --out is given more than once/,
    ],
    [['schedule', 'now'], /^billing schedule: too many arguments/],
    [
      ['endpoints', 'list', '--tenant', '../etc'],
      /^billing endpoints list: --tenant must be an id/,
    ],
  ];
  for (const [args, reason] of cases) {
    const r = await cli(args);
    const label = JSON.stringify(args).slice(0, 120);
    assert.equal(r.code, 2, `${label}: ${r.stderr.slice(0, 300)}`);
    assert.equal(r.stdout, '', label);
    assert.match(r.stderr, reason, label);
    assert.match(r.stderr.split('\n')[1] ?? '', /^Usage: billing /, `${label}: the usage follows`);
    assert.ok(r.stderr.length < 5_000, `${label}: a huge argument is not echoed whole`);
    assert.ok(!r.stderr.includes('\u001b'), `${label}: no raw escape reaches the terminal`);
  }
  // NUL cannot reach the CLI at all: an argument is a C string; Node refuses to spawn it.
  assert.throws(() => execFile(process.execPath, [CLI, 'close', '2026-10\u0000']), {
    code: 'ERR_INVALID_ARG_VALUE',
  });
  const runs = await h.db.query<unknown[]>(`SELECT 1 FROM billing_close_run`);
  assert.deepEqual(runs, [], 'no usage error closed anything');
});

test('a month not closable yet: exit 1 with its code, and nothing recorded', async () => {
  const r = await cli(['close', '2199-01']);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /^billing close: PERIOD_NOT_CLOSABLE: period 2199-01 can be closed from /);
  const runs = await h.db.query<unknown[]>(`SELECT 1 FROM billing_close_run`);
  assert.deepEqual(runs, []);
});

test('PostgreSQL unreachable: exit 1, one line', async () => {
  const r = await cli(['schedule'], { DATABASE_URL: 'postgres://postgres@127.0.0.1:1/metering' });
  assert.equal(r.code, 1, r.stderr);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /^billing schedule: .*ECONNREFUSED/);
});

describe('after a close by the CLI', () => {
  let close: Run;
  before(async () => {
    close = await cli(['close', PERIOD, '--json'], { BATCH_SIZE: '3' });
  });

  test('close prints plain progress lines on a non-terminal stderr and its result as JSON', () => {
    assert.equal(close.code, 0, close.stderr);
    const result = JSON.parse(close.stdout) as { period: string; finalized: number };
    assert.equal(result.period, PERIOD);
    assert.equal(result.finalized, TENANTS.length);
    const lines = close.stderr.trim().split('\n');
    assert.deepEqual(
      lines.map((l) => /^close 2026-10: (\d+)% \((\d+)\/12 tenants, \d+\.\d s\)$/.exec(l)?.[2]),
      ['3', '6', '9', '12'],
      close.stderr,
    );
    assert.ok(
      !close.stderr.includes('\r') && !close.stderr.includes('\u001b'),
      'no bar drawing off a terminal',
    );
  });

  test('schedule shows the last run: this close, by the CLI, where, its outcome', async () => {
    const r = await cli(['schedule', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const status = JSON.parse(r.stdout) as {
      enabled: boolean;
      graceMs: number;
      next: { period: string } | null;
      lastRun: {
        period: string;
        status: string;
        startedBy: string;
        instance: string;
        finishedAt: string | null;
        result: { finalized: number } | null;
        error: string | null;
      } | null;
    };
    assert.equal(status.graceMs, 0);
    assert.equal(status.lastRun?.period, PERIOD);
    assert.equal(status.lastRun?.status, 'succeeded');
    assert.equal(status.lastRun?.startedBy, 'cli');
    assert.match(status.lastRun?.instance ?? '', /^.+@.+:\d+$/);
    assert.equal(status.lastRun?.result?.finalized, TENANTS.length);
    assert.equal(status.lastRun?.error, null);
    assert.ok(Date.parse(status.lastRun?.finishedAt ?? '') > Date.now() - 120_000);
    const text = await cli(['schedule']);
    assert.equal(text.code, 0);
    assert.match(
      text.stdout,
      /^last run: 2026-10 succeeded, finished \S+, by the CLI on \S+@\S+:\d+ \(attempt 1\)$/m,
    );
    assert.match(text.stdout, /^grace: 0 s after a month ends/m);
  });

  test('deliveries list --json is what the API answers, page by page', async () => {
    const ids = TENANTS.map((t) => invoiceEventIdOf('invoice.finalized', [t, PERIOD]));
    await waitFor(() => ids.every((id) => receiver.acknowledged.get(id) === 1), {
      timeoutMs: 20_000,
      description: 'every invoice.finalized delivered',
    });
    const fromApi = async () =>
      (
        (await api(`/v1/webhook-endpoints/${endpointId}/deliveries`)) as {
          data: { id: string; status: string }[];
        }
      ).data;
    await waitFor(async () => (await fromApi()).every((d) => d.status === 'delivered'), {
      timeoutMs: 5_000,
      description: 'the log says delivered',
    });
    const items = await fromApi();
    assert.equal(items.length, TENANTS.length);

    const one = await cli(['deliveries', 'list', '--endpoint', endpointId, '--json']);
    assert.equal(one.code, 0, one.stderr);
    assert.deepEqual(JSON.parse(one.stdout), { data: items, nextCursor: null });

    const seen: unknown[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const r: Run = await cli([
        'deliveries',
        'list',
        '--limit',
        '5',
        '--json',
        ...(cursor === null ? [] : ['--cursor', cursor]),
      ]);
      assert.equal(r.code, 0, r.stderr);
      const page = JSON.parse(r.stdout) as { data: unknown[]; nextCursor: string | null };
      seen.push(...page.data);
      cursor = page.nextCursor;
      pages += 1;
    } while (cursor !== null && pages < 5);
    assert.equal(pages, 3);
    assert.deepEqual(seen, items, 'the pages together are the whole log, newest first');

    const delivered = await cli(['deliveries', 'list', '--status', 'delivered', '--limit', '200']);
    assert.equal(delivered.code, 0);
    assert.deepEqual(
      delivered.stdout
        .trim()
        .split('\n')
        .map((l) => l.split('\t').slice(0, 2)),
      items.map((d) => [d.id, 'delivered']),
    );
    const failed = await cli(['deliveries', 'list', '--status', 'failed', '--json']);
    assert.deepEqual(JSON.parse(failed.stdout), { data: [], nextCursor: null });

    // A cursor of another list (other filters) is refused, naming it.
    const first = JSON.parse(
      (await cli(['deliveries', 'list', '--limit', '5', '--json'])).stdout,
    ) as {
      nextCursor: string;
    };
    const mixed = await cli([
      'deliveries',
      'list',
      '--status',
      'delivered',
      '--cursor',
      first.nextCursor,
    ]);
    assert.equal(mixed.code, 2);
    assert.match(mixed.stderr, /^billing deliveries list: cursor: is not a cursor of this list/);
  });

  test('endpoints list --json is what the API answers', async () => {
    const r = await cli(['endpoints', 'list', '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), await api('/v1/webhook-endpoints'));
    const enabled = await cli([
      'endpoints',
      'list',
      '--status',
      'enabled',
      '--limit',
      '1',
      '--json',
    ]);
    assert.equal(enabled.code, 0, enabled.stderr);
    // The same page (a cursor is signed by whoever made it: compare whether there is one).
    const cliPage = JSON.parse(enabled.stdout) as { data: unknown[]; nextCursor: string | null };
    const apiPage = (await api('/v1/webhook-endpoints?status=enabled&limit=1')) as {
      data: unknown[];
      nextCursor: string | null;
    };
    assert.equal(cliPage.data.length, 1);
    assert.deepEqual(cliPage.data, apiPage.data);
    assert.equal(cliPage.nextCursor === null, apiPage.nextCursor === null);
    const text = await cli(['endpoints', 'list']);
    assert.match(text.stdout, new RegExp(`^${endpointId}\tenabled\t\\(provider\\)\t`, 'm'));
  });

  test('redeliver: sent again with the same event id; unknown id or disabled endpoint exit 1', async () => {
    const [last] = (
      (await api(`/v1/webhook-endpoints/${endpointId}/deliveries?limit=1`)) as {
        data: { id: string; eventId: string }[];
      }
    ).data;
    assert.ok(last !== undefined);
    const r = await cli(['deliveries', 'redeliver', last.id, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const queued = JSON.parse(r.stdout) as { id: string; eventId: string; status: string };
    assert.equal(queued.id, last.id);
    assert.equal(queued.eventId, last.eventId);
    await waitFor(() => receiver.acknowledged.get(last.eventId) === 2, {
      timeoutMs: 10_000,
      description: 'delivered again',
    });
    assert.equal(receiver.processed.get(last.eventId), 1, 'the receiver dedupes by event id');

    const unknown = await cli(['deliveries', 'redeliver', '987654321']);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /^billing deliveries redeliver: WEBHOOK_DELIVERY_NOT_FOUND: /);

    await h.db.query(`UPDATE webhook_endpoint SET status = 'disabled' WHERE id = $1`, [endpointId]);
    const refused = await cli(['deliveries', 'redeliver', last.id]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /^billing deliveries redeliver: WEBHOOK_ENDPOINT_DISABLED: /);
  });
});

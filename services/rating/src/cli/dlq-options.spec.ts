import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { UsageError } from './cli-command';
import { type DlqOptions, parseDlqArgs } from './dlq-options';

function selected(args: string[]): Extract<DlqOptions, { action: 'list' | 'replay' }> {
  const o = parseDlqArgs(args);
  assert.notEqual(o.action, 'help');
  if (o.action === 'help') throw new Error('unreachable');
  return o;
}

function refused(args: string[], message: RegExp): void {
  assert.throws(
    () => parseDlqArgs(args),
    (e: unknown) => e instanceof UsageError && message.test(e.message),
    `${JSON.stringify(args)} should be refused with ${message}`,
  );
}

describe('rating dlq: arguments', () => {
  test('filters: reasons (repeated), times with a zone, tenant, limit', () => {
    const o = selected([
      'list',
      '--reason',
      'SAMPLE_IN_FUTURE',
      '--reason',
      'KEY_MISMATCH',
      '--from',
      '2026-12-01T00:00:00Z',
      '--to',
      '2026-12-02T01:30:00+01:30',
      '--tenant',
      'ácme-ü', // non-ASCII tenants are tenants too
      '--limit',
      '25',
      '--json',
    ]);
    assert.equal(o.action, 'list');
    assert.deepEqual([...o.filter.reasons], ['SAMPLE_IN_FUTURE', 'KEY_MISMATCH']);
    assert.equal(o.filter.fromMs, Date.UTC(2026, 11, 1));
    assert.equal(o.filter.toMs, Date.UTC(2026, 11, 2));
    assert.equal(o.filter.tenant, 'ácme-ü');
    assert.equal(o.limit, 25);
    assert.equal(o.json, true);
  });

  test('defaults: every reason, no bounds, no limit, a table, no replay flags', () => {
    const o = selected(['replay']);
    assert.equal(o.action, 'replay');
    assert.equal(o.filter.reasons.size, 0);
    assert.equal(o.filter.fromMs, null);
    assert.equal(o.filter.toMs, null);
    assert.equal(o.filter.tenant, null);
    assert.equal(o.limit, null);
    assert.deepEqual([o.json, o.dryRun, o.yes, o.keyFromResource], [false, false, false, false]);
    assert.equal(selected(['replay', '--dry-run']).dryRun, true);
    assert.equal(selected(['replay', '--yes', '--key-from-resource']).keyFromResource, true);
    assert.equal(selected(['list', '--from', '2026-12-01']).filter.fromMs, Date.UTC(2026, 11, 1));
  });

  test('--help wins over everything else', () => {
    assert.deepEqual(parseDlqArgs(['--help']), { action: 'help' });
    assert.deepEqual(parseDlqArgs(['replay', '--yes', '--help']), { action: 'help' });
  });

  test('bad dates: not ISO, no zone, impossible days and hours, reversed range', () => {
    for (const value of [
      'yesterday',
      '',
      '2026-12-01T00:00:00', // no zone: local time would depend on the operator's machine
      '2026-13-01',
      '2026-02-31',
      '2026-02-31T00:00:00Z',
      '2026-12-01T24:00:00Z',
      '2026-12-01T00:60:00Z',
      '1733011200000',
      '2026-12-01T00:00:00Z ',
      '2026-12-01T00:00:00+25:00',
      '9'.repeat(10_000),
    ]) {
      refused(['list', '--from', value], /--from: .* is not an ISO-8601 time/);
    }
    refused(['list', '--to', 'soon'], /--to: /);
    refused(
      ['list', '--from', '2026-12-02T00:00:00Z', '--to', '2026-12-01T00:00:00Z'],
      /--to must be after --from/,
    );
    refused(
      ['list', '--from', '2026-12-01T00:00:00Z', '--to', '2026-12-01T00:00:00Z'],
      /--to must be after --from/,
    );
  });

  test('reason codes must look like reason codes', () => {
    for (const code of [
      'sample_in_future',
      'SAMPLE-IN-FUTURE',
      'SAMPLE IN FUTURE',
      '_X',
      'X_',
      'X__Y',
      '1X',
      '',
      'É',
      `A${'B'.repeat(64)}`,
      'KEY_MISMATCH\n',
    ]) {
      refused(['list', '--reason', code], /--reason: .* is not a reason code/);
    }
    assert.deepEqual(
      [...selected(['list', '--reason', 'IMPLAUSIBLE_CPU']).filter.reasons],
      ['IMPLAUSIBLE_CPU'],
    );
  });

  test('NUL anywhere in the arguments: refused before anything else', () => {
    refused(['list', '--tenant', 'acme\u0000'], /argument 3 contains a NUL character/);
    refused(['list\u0000'], /argument 1 contains a NUL character/);
    refused(['replay', '--reason', 'UNRATEABLE\u0000', '--yes'], /NUL/);
    refused(['--help\u0000'], /NUL/);
  });

  test('tenants: no control characters, bounded length', () => {
    refused(['list', '--tenant', ''], /--tenant: must be 1 to 256/);
    refused(['list', '--tenant', 'ac\nme'], /--tenant/);
    refused(['list', '--tenant', 'a\u001b[31m'], /--tenant/);
    refused(['list', '--tenant', 'x'.repeat(257)], /--tenant/);
    assert.equal(selected(['list', '--tenant', 'x'.repeat(256)]).filter.tenant?.length, 256);
  });

  test('limits: whole numbers from 1', () => {
    refused(['list', '--limit', '-1'], /--limit/); // node:util takes it for an option
    for (const value of ['0', '-1', '1.5', '1e3', 'ten', '', ' 5', '0x10', '9999999999', 'NaN']) {
      refused(['list', `--limit=${value}`], /--limit: /);
    }
    assert.equal(selected(['list', '--limit', '999999999']).limit, 999_999_999);
  });

  test('subcommands and flags: unknown, missing, extra, misplaced, contradictory', () => {
    refused([], /a subcommand is required/);
    refused(['purge'], /unknown subcommand "purge"/);
    refused(['list', 'extra'], /unexpected argument "extra"/);
    refused(['list', '--bogus'], /Unknown option '--bogus'/);
    refused(['list', '--reason'], /--reason/);
    refused(['list', '--json=yes'], /--json/);
    refused(['list', '--yes'], /options of replay/);
    refused(['list', '--dry-run'], /options of replay/);
    refused(['replay', '--dry-run', '--yes'], /exclude each other/);
    refused(['list', '--tenant', 'a', '--tenant', 'b'], /--tenant is given more than once/);
    refused(['list', '--from', '2026-12-01', '--from', '2026-12-02'], /--from is given more/);
    refused(['replay', '--yes', '--yes'], /--yes is given more than once/);
    // Reasons repeat by design; the same one twice is the same filter.
    assert.deepEqual(
      [...selected(['list', '--reason', 'UNRATEABLE', '--reason', 'UNRATEABLE']).filter.reasons],
      ['UNRATEABLE'],
    );
    // What is echoed back is escaped: a terminal never receives the argument's control bytes.
    assert.throws(
      () => parseDlqArgs(['\u001b]0;pwned\u0007']),
      (e: unknown) =>
        e instanceof UsageError && [...e.message].every((c) => c.charCodeAt(0) >= 0x20),
    );
  });
});

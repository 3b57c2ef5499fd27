import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { dirname } from 'node:path';
import {
  ALERT_RULES_FILE,
  ALERT_TESTS_FILE,
  loadAlertRules,
  metricNamesOf,
} from '../src/alert-rules.loader';

// infra/prometheus/alerts.yml with Prometheus's own tool (promtool, from Debian's prometheus
// package, which the local stack installs): the rules are valid, and each alert fires on the
// failure it is for, after its `for`, with its annotations, and not on healthy series
// (alerts.test.yml). That the metrics they name exist is checked in a real pipeline run
// (grafana-queries.int.spec.ts).

function promtool(...args: string[]): { status: number | null; out: string } {
  const r = spawnSync('promtool', args, { cwd: dirname(ALERT_RULES_FILE), encoding: 'utf8' });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

test('the alerting rules are valid Prometheus rules', () => {
  const r = promtool('check', 'rules', ALERT_RULES_FILE);
  assert.equal(r.status, 0, r.out);
  assert.match(r.out, new RegExp(`SUCCESS: ${loadAlertRules().length} rules found`));
});

test('every alert fires on its failure and stays quiet on healthy series (promtool test rules)', () => {
  const r = promtool('test', 'rules', ALERT_TESTS_FILE);
  assert.equal(r.status, 0, r.out);
  assert.match(r.out, /SUCCESS/);
  // Each alert is exercised by the unit tests.
  const tests = spawnSync('grep', ['-ho', 'alertname: [A-Za-z]*', ALERT_TESTS_FILE], {
    encoding: 'utf8',
  }).stdout;
  for (const rule of loadAlertRules()) assert.ok(tests.includes(rule.alert), rule.alert);
});

test('metric names are read out of the expressions', () => {
  assert.deepEqual(
    metricNamesOf(
      'sum(increase({__name__=~"a_total|b_total"}[15m])) > 0 and max by (job) (up{job="x"}) == 0',
    ),
    ['a_total', 'b_total', 'up'],
  );
});

test('durations and offsets are not metric names', () => {
  assert.deepEqual(
    metricNamesOf('sum(x_total unless x_total offset 1h) > 0 or rate(y[5m]) > 1 or z offset 90s'),
    ['x_total', 'y', 'z'],
  );
});

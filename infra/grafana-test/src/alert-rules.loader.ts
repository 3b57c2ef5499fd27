import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { REPO_ROOT } from './dashboard.loader';

export const ALERT_RULES_FILE = join(REPO_ROOT, 'infra', 'prometheus', 'alerts.yml');
export const ALERT_TESTS_FILE = join(REPO_ROOT, 'infra', 'prometheus', 'alerts.test.yml');

export interface AlertRule {
  readonly alert: string;
  readonly expr: string;
}

/** Every alerting rule of infra/prometheus/alerts.yml. */
export function loadAlertRules(file = ALERT_RULES_FILE): AlertRule[] {
  const doc = parse(readFileSync(file, 'utf8')) as {
    groups: { rules: { alert?: string; expr: string }[] }[];
  };
  return doc.groups.flatMap((g) =>
    g.rules.flatMap((r) => (r.alert === undefined ? [] : [{ alert: r.alert, expr: r.expr }])),
  );
}

const KEYWORDS = new Set([
  'sum',
  'max',
  'min',
  'avg',
  'count',
  'by',
  'without',
  'rate',
  'increase',
  'irate',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'and',
  'or',
  'unless',
  'bool',
  'offset',
  'absent',
]);

/**
 * The metric names an expression selects: bare names, and the alternatives of a
 * `__name__=~"a|b"` matcher. Label names (in braces, `by (…)` and the like) are skipped.
 */
export function metricNamesOf(expr: string): string[] {
  const names = new Set<string>();
  for (const m of expr.matchAll(/__name__=~"([^"]+)"/g))
    for (const n of m[1]!.split('|')) names.add(n);
  const outsideBraces = expr
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    // Durations (`offset 1h`, `5m`): their unit letters are not metric names.
    .replace(/\b\d+(?:ms|[smhdwy])\b/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  for (const m of outsideBraces.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const word = m[0];
    if (!KEYWORDS.has(word) && !/^\d/.test(word)) names.add(word);
  }
  return [...names].sort();
}

import { type z } from 'zod';

type RawIssue = z.core.$ZodRawIssue;

/**
 * Error map for every parse in this package: short messages meant to follow a field path,
 * e.g. "memory.usageBytes: must be >= 0". Returning undefined keeps zod's own message.
 * Passed per parse, never installed globally: other packages share the zod instance.
 */
export function issueMessage(issue: RawIssue): string | undefined {
  switch (issue.code) {
    case 'invalid_type':
      if (issue.input === undefined) {
        return 'is required';
      }
      return `must be ${describeExpected(issue.expected)}, got ${describeInput(issue.input)}`;
    case 'too_small':
      if (issue.origin === 'string') {
        return Number(issue.minimum) === 1
          ? 'must not be empty'
          : `must be at least ${String(issue.minimum)} characters`;
      }
      return `must be ${issue.inclusive ? '>=' : '>'} ${String(issue.minimum)}`;
    case 'too_big':
      if (issue.origin === 'string') {
        return `must be at most ${String(issue.maximum)} characters`;
      }
      return `must be ${issue.inclusive ? '<=' : '<'} ${String(issue.maximum)}`;
    case 'invalid_value':
      return issue.values.length === 1
        ? `must be ${JSON.stringify(issue.values[0])}`
        : `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'invalid_format':
    case 'not_multiple_of':
    case 'unrecognized_keys':
    case 'invalid_union':
    case 'invalid_key':
    case 'invalid_element':
    case 'custom':
      return undefined;
  }
}

function describeExpected(expected: string): string {
  switch (expected) {
    case 'int':
      return 'an integer';
    case 'object':
    case 'array':
      return `an ${expected}`;
    default:
      return `a ${expected}`;
  }
}

function describeInput(input: unknown): string {
  if (input === null) {
    return 'null';
  }
  if (Array.isArray(input)) {
    return 'an array';
  }
  return typeof input;
}

/** "resource.tenantId", "items[2].amount"; null for the message as a whole. */
export function formatPath(path: readonly PropertyKey[]): string | null {
  if (path.length === 0) {
    return null;
  }
  return path
    .map((segment, index) =>
      typeof segment === 'number' ? `[${segment}]` : `${index === 0 ? '' : '.'}${String(segment)}`,
    )
    .join('');
}

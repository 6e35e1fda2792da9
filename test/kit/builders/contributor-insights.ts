/**
 * A validator and evaluator for CloudWatch Contributor Insights rules on JSON logs, following
 * "Contributor Insights rule syntax in CloudWatch": Schema CloudWatchLogRule v1, LogFormat JSON,
 * 1–4 Keys, at most 4 Filters (ANDed) with operators In, NotIn, StartsWith (≤ 10 strings, ORed),
 * GreaterThan, LessThan, EqualTo, NotEqualTo (a number), IsPresent (a boolean), AggregateOn
 * Count or Sum (Sum needs ValueOf). Matching is case sensitive; fields use `$.a.b[0]` notation.
 * Tests use it to prove a rule body is valid and counts the access-log lines it is meant to.
 */

export class RuleSyntaxError extends Error {
  override readonly name = 'RuleSyntaxError';
}

type Filter = Record<string, unknown> & { Match: string };
export interface ParsedRule {
  readonly logGroupNames: string[];
  readonly keys: string[];
  readonly valueOf?: string;
  readonly filters: Filter[];
  readonly aggregateOn: 'Count' | 'Sum';
}

const STRING_LIST_OPERATORS = ['In', 'NotIn', 'StartsWith'];
const NUMBER_OPERATORS = ['GreaterThan', 'LessThan', 'EqualTo', 'NotEqualTo'];
const PATH = /^\$(\.[A-Za-z0-9_-]+(\[\d+\])?)+$/;

export function parseInsightRule(body: string | object): ParsedRule {
  const rule = (typeof body === 'string' ? JSON.parse(body) : body) as Record<string, unknown>;
  const fail = (message: string): never => {
    throw new RuleSyntaxError(message);
  };
  const allowed = new Set([
    'Schema',
    'LogGroupNames',
    'LogGroupARNs',
    'LogFormat',
    'Contribution',
    'AggregateOn',
  ]);
  for (const key of Object.keys(rule)) if (!allowed.has(key)) fail(`unknown rule field ${key}`);
  const schema = rule.Schema as Record<string, unknown> | undefined;
  if (schema?.Name !== 'CloudWatchLogRule' || schema.Version !== 1) {
    fail('Schema must be {"Name": "CloudWatchLogRule", "Version": 1}');
  }
  const names = rule.LogGroupNames;
  if (!Array.isArray(names) || names.length === 0 || !names.every((n) => typeof n === 'string' && n)) {
    fail('LogGroupNames must be a non-empty list of names');
  }
  if (rule.LogFormat !== 'JSON') fail('LogFormat must be JSON for JSON access logs');
  const contribution = rule.Contribution as Record<string, unknown> | undefined;
  if (!contribution) return fail('Contribution is required');
  const keys = contribution.Keys;
  if (!Array.isArray(keys) || keys.length < 1 || keys.length > 4)
    fail('Contribution.Keys must list 1 to 4 fields');
  for (const key of keys as unknown[])
    if (typeof key !== 'string' || !PATH.test(key)) fail(`bad key path ${key}`);
  const filters = (contribution.Filters ?? []) as unknown[];
  if (!Array.isArray(filters) || filters.length > 4) fail('Contribution.Filters must list at most 4 filters');
  for (const filter of filters) {
    const f = filter as Record<string, unknown>;
    if (typeof f.Match !== 'string' || !PATH.test(f.Match))
      fail(`filter Match must be a field path: ${f.Match}`);
    const operators = Object.keys(f).filter((k) => k !== 'Match');
    if (operators.length !== 1) fail(`a filter has exactly one operator, got ${operators.join(', ')}`);
    const [op] = operators as [string];
    const operand = f[op];
    if (STRING_LIST_OPERATORS.includes(op)) {
      if (
        !Array.isArray(operand) ||
        operand.length < 1 ||
        operand.length > 10 ||
        !operand.every((v) => typeof v === 'string')
      ) {
        fail(`${op} takes 1 to 10 strings`);
      }
    } else if (NUMBER_OPERATORS.includes(op)) {
      if (typeof operand !== 'number') fail(`${op} takes a number`);
    } else if (op === 'IsPresent') {
      if (typeof operand !== 'boolean') fail('IsPresent takes true or false');
    } else {
      fail(`unknown filter operator ${op}`);
    }
  }
  const aggregateOn = rule.AggregateOn;
  if (aggregateOn !== 'Count' && aggregateOn !== 'Sum') fail('AggregateOn must be Count or Sum');
  if (aggregateOn === 'Sum' && typeof contribution.ValueOf !== 'string')
    fail('AggregateOn Sum needs ValueOf');
  if (aggregateOn === 'Count' && contribution.ValueOf !== undefined)
    fail('ValueOf is only for AggregateOn Sum');
  return {
    logGroupNames: names as string[],
    keys: keys as string[],
    ...(typeof contribution.ValueOf === 'string' ? { valueOf: contribution.ValueOf } : {}),
    filters: filters as Filter[],
    aggregateOn: aggregateOn as 'Count' | 'Sum',
  };
}

const MISSING = Symbol('missing');

export function readPath(record: unknown, path: string): unknown {
  let current: unknown = record;
  for (const part of path.slice(2).split('.')) {
    const [, name, index] = /^([^[]+)(?:\[(\d+)\])?$/.exec(part) ?? [];
    if (typeof current !== 'object' || current === null || !name || !(name in current)) return MISSING;
    current = (current as Record<string, unknown>)[name];
    if (index !== undefined) {
      if (!Array.isArray(current) || Number(index) >= current.length) return MISSING;
      current = current[Number(index)];
    }
  }
  return current;
}

function filterMatches(filter: Filter, record: unknown): boolean {
  const value = readPath(record, filter.Match);
  if ('IsPresent' in filter) return (value !== MISSING) === filter.IsPresent;
  if (value === MISSING || (typeof value === 'object' && value !== null)) return false;
  const text = String(value);
  if ('In' in filter) return (filter.In as string[]).includes(text);
  if ('NotIn' in filter) return !(filter.NotIn as string[]).includes(text);
  if ('StartsWith' in filter) return (filter.StartsWith as string[]).some((p) => text.startsWith(p));
  if (typeof value !== 'number') return false;
  if ('EqualTo' in filter) return value === filter.EqualTo;
  if ('NotEqualTo' in filter) return value !== filter.NotEqualTo;
  if ('GreaterThan' in filter) return value > (filter.GreaterThan as number);
  if ('LessThan' in filter) return value < (filter.LessThan as number);
  throw new RuleSyntaxError('unreachable filter');
}

export interface RuleReport {
  /** Contributor (key values joined by " | ") → aggregate. */
  readonly contributors: Map<string, number>;
  /** INSIGHT_RULE_METRIC statistics over the evaluated lines. */
  readonly sum: number;
  readonly uniqueContributors: number;
  readonly maxContributorValue: number;
  /** Lines that were not JSON objects (Contributor Insights cannot read them). */
  readonly unreadableLines: number;
}

/** Applies a rule to log lines as Contributor Insights would, over one period. */
export function evaluateInsightRule(rule: ParsedRule, lines: readonly string[]): RuleReport {
  const contributors = new Map<string, number>();
  let unreadableLines = 0;
  for (const line of lines) {
    let record: unknown;
    try {
      record = JSON.parse(line);
    } catch {
      unreadableLines++;
      continue;
    }
    if (typeof record !== 'object' || record === null || Array.isArray(record)) {
      unreadableLines++;
      continue;
    }
    if (!rule.filters.every((f) => filterMatches(f, record))) continue;
    const keyValues = rule.keys.map((k) => readPath(record, k));
    if (keyValues.some((v) => v === MISSING)) continue;
    const raw = rule.aggregateOn === 'Sum' ? readPath(record, rule.valueOf as string) : 1;
    const amount = typeof raw === 'number' ? raw : Number.NaN;
    if (!Number.isFinite(amount)) continue;
    const contributor = keyValues.map(String).join(' | ');
    contributors.set(contributor, (contributors.get(contributor) ?? 0) + amount);
  }
  const values = [...contributors.values()];
  return {
    contributors,
    sum: values.reduce((a, b) => a + b, 0),
    uniqueContributors: contributors.size,
    maxContributorValue: values.length ? Math.max(...values) : 0,
    unreadableLines,
  };
}

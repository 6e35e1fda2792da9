import { describe, expect, it } from 'vitest';
import { evaluateInsightRule, parseInsightRule, RuleSyntaxError } from '../kit/builders/contributor-insights';

/** The Contributor Insights rule validator/evaluator the access-log tests rely on. */
const rule = (contribution: object, extra: object = {}) => ({
  Schema: { Name: 'CloudWatchLogRule', Version: 1 },
  LogGroupNames: ['lg'],
  LogFormat: 'JSON',
  Contribution: contribution,
  AggregateOn: 'Count',
  ...extra,
});

describe('Contributor Insights rule syntax', () => {
  it('accepts a valid rule and reads its parts', () => {
    const parsed = parseInsightRule(
      JSON.stringify(
        rule({ Keys: ['$.caller', '$.a.b[0]'], Filters: [{ Match: '$.status', EqualTo: 403 }] }),
      ),
    );
    expect(parsed.keys).toEqual(['$.caller', '$.a.b[0]']);
    expect(parsed.aggregateOn).toBe('Count');
  });

  it.each([
    ['wrong schema', { ...rule({ Keys: ['$.a'] }), Schema: { Name: 'X', Version: 1 } }],
    ['no keys', rule({ Keys: [] })],
    ['five keys', rule({ Keys: ['$.a', '$.b', '$.c', '$.d', '$.e'] })],
    ['key not a path', rule({ Keys: ['caller'] })],
    ['five filters', rule({ Keys: ['$.a'], Filters: Array(5).fill({ Match: '$.a', IsPresent: true }) })],
    ['unknown operator', rule({ Keys: ['$.a'], Filters: [{ Match: '$.a', NotStartsWith: ['x'] }] })],
    ['two operators', rule({ Keys: ['$.a'], Filters: [{ Match: '$.a', In: ['x'], NotIn: ['y'] }] })],
    ['EqualTo a string', rule({ Keys: ['$.a'], Filters: [{ Match: '$.a', EqualTo: '403' }] })],
    ['In a number', rule({ Keys: ['$.a'], Filters: [{ Match: '$.a', In: [403] }] })],
    ['eleven In values', rule({ Keys: ['$.a'], Filters: [{ Match: '$.a', In: Array(11).fill('x') }] })],
    ['Sum without ValueOf', rule({ Keys: ['$.a'] }, { AggregateOn: 'Sum' })],
    ['CLF format', rule({ Keys: ['$.a'] }, { LogFormat: 'CLF' })],
    ['unknown field', rule({ Keys: ['$.a'] }, { Extra: 1 })],
  ])('rejects %s', (_, body) => {
    expect(() => parseInsightRule(body)).toThrow(RuleSyntaxError);
  });
});

describe('Contributor Insights evaluation', () => {
  const lines = [
    JSON.stringify({ caller: 'a', status: 200, n: 5 }),
    JSON.stringify({ caller: 'a', status: 403, n: 1 }),
    JSON.stringify({ caller: 'b', status: 403, n: 2 }),
    JSON.stringify({ caller: '-', status: 403 }),
    JSON.stringify({ status: 403 }),
    'not json',
    '{"caller":"c","integrationLatency":-}',
  ];

  it('counts per contributor after ANDed filters, and skips lines without the key or not JSON', () => {
    const report = evaluateInsightRule(
      parseInsightRule(rule({ Keys: ['$.caller'], Filters: [{ Match: '$.status', EqualTo: 403 }] })),
      lines,
    );
    expect(Object.fromEntries(report.contributors)).toEqual({ a: 1, b: 1, '-': 1 });
    expect(report).toMatchObject({
      sum: 3,
      uniqueContributors: 3,
      maxContributorValue: 1,
      unreadableLines: 2,
    });
  });

  it('applies In, NotIn, StartsWith, comparisons and IsPresent', () => {
    const count = (filter: object) =>
      evaluateInsightRule(parseInsightRule(rule({ Keys: ['$.status'], Filters: [filter] })), lines).sum;
    expect(count({ Match: '$.caller', In: ['a'] })).toBe(2);
    expect(count({ Match: '$.caller', NotIn: ['-', 'a'] })).toBe(1);
    expect(count({ Match: '$.caller', StartsWith: ['a', 'b'] })).toBe(3);
    expect(count({ Match: '$.status', GreaterThan: 300 })).toBe(4);
    expect(count({ Match: '$.status', LessThan: 300 })).toBe(1);
    expect(count({ Match: '$.status', NotEqualTo: 403 })).toBe(1);
    expect(count({ Match: '$.caller', IsPresent: false })).toBe(1);
  });

  it('sums ValueOf for AggregateOn Sum', () => {
    const report = evaluateInsightRule(
      parseInsightRule(rule({ Keys: ['$.caller'], ValueOf: '$.n' }, { AggregateOn: 'Sum' })),
      lines,
    );
    expect(Object.fromEntries(report.contributors)).toEqual({ a: 6, b: 2 });
  });
});

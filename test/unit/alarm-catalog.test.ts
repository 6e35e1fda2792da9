import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { stageSchema } from '../../lib/config/schema';
import { ACCESS_LOG_FIELDS } from '../../lib/constructs/access-log-format';
import {
  ALARM_CATALOG,
  alarmDescription,
  alarmName,
  describeCondition,
} from '../../lib/constructs/monitoring/alarm-catalog';
import { RUNBOOK_DIRECTORY, Runbook, runbookLink } from '../../lib/constructs/monitoring/runbooks';
import { SECRET_EVENT_RULES } from '../../lib/constructs/monitoring/secret-audit-rules';
import { PROJECT_ROOT } from '../kit/builders/cdk-context';

/** Written with the rotation work (another change); runbooks may link to it before it lands. */
const PROVIDED_ELSEWHERE = new Set<string>([`${Runbook.CredentialsCompromised}.md`]);

const runbookFile = (name: string) => path.join(PROJECT_ROOT, RUNBOOK_DIRECTORY, `${name}.md`);
const everyNotification = [...ALARM_CATALOG, ...Object.values(SECRET_EVENT_RULES)];

describe('alarm catalogue', () => {
  it('has unique ids', () => {
    const ids = everyNotification.map((s) => s.id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it.each(everyNotification.map((s) => [s.id, s] as const))(
    '%s has an existing runbook with the four sections',
    (_, spec) => {
      const file = runbookFile(spec.runbook);
      expect(existsSync(file), `${file} is missing: write the runbook for ${spec.id}`).toBe(true);
      const text = readFileSync(file, 'utf8');
      for (const heading of [
        '## What it means',
        '## How to confirm',
        '## How to fix',
        '## When to escalate',
      ]) {
        expect(text, `${spec.runbook}.md needs "${heading}"`).toContain(heading);
      }
      expect(text).toContain(spec.id);
      expect(text).toMatch(new RegExp(`— ${spec.severity.toUpperCase()}|${spec.severity.toUpperCase()} \\(`));
    },
  );

  it('every alarm states why it treats missing data as it does', () => {
    for (const spec of ALARM_CATALOG) expect(spec.missingData.why.length, spec.id).toBeGreaterThan(30);
  });

  it('descriptions fit CloudWatch (1024 characters) even with a long runbook URL', () => {
    const config = stageSchema.parse({}).monitoring;
    const url = runbookLink(
      Runbook.NotificationDeliveryFailed,
      `https://${'x'.repeat(120)}.example.org/docs/runbooks/`,
    );
    for (const spec of ALARM_CATALOG) {
      const text = alarmDescription(
        spec,
        describeCondition(spec, config, 'A metric label of forty characters long', 86_400),
        url,
      );
      expect(text.length, spec.id).toBeLessThanOrEqual(1024);
      expect(text.startsWith(`[${spec.severity.toUpperCase()}] `)).toBe(true);
    }
  });

  it('names put severity first', () => {
    expect(alarmName('page', 'ThroughLineTokenBroker-prod', 'Api5xx')).toBe(
      '[PAGE] ThroughLineTokenBroker-prod Api5xx',
    );
  });
});

describe('runbooks', () => {
  const files = Object.values(Runbook).filter((name) => !PROVIDED_ELSEWHERE.has(`${name}.md`));

  it('every runbook named in the code exists', () => {
    for (const name of files) expect(existsSync(runbookFile(name)), name).toBe(true);
  });

  it('relative links between runbooks resolve', () => {
    for (const name of files) {
      const text = readFileSync(runbookFile(name), 'utf8');
      for (const [, target] of text.matchAll(/\]\(([^)#:]+\.md)\)/g)) {
        if (PROVIDED_ELSEWHERE.has(target as string)) continue;
        expect(
          existsSync(path.join(PROJECT_ROOT, RUNBOOK_DIRECTORY, target as string)),
          `${name} → ${target}`,
        ).toBe(true);
      }
    }
  });

  it('the Logs Insights queries on the access log use only fields the access log writes', () => {
    const accessLogRunbooks = [
      'forbidden-spike',
      'refused-callers',
      'dominant-caller',
      'request-volume-anomaly',
      'api-5xx',
      'api-latency',
    ];
    const known = new Set([
      ...Object.keys(ACCESS_LOG_FIELDS),
      'bin',
      'count',
      'pct',
      'earliest',
      'latest',
      'requests',
      'refused',
      'errors',
      'first',
      'last',
      'p50',
      'p99',
      'as',
      'by',
      'and',
      'desc',
      'limit',
      'sort',
      'stats',
      'filter',
      'fields',
    ]);
    for (const name of accessLogRunbooks) {
      const text = readFileSync(runbookFile(name), 'utf8');
      const queries = [...text.matchAll(/```\n\s*((?:filter|stats|fields)[\s\S]*?)```/g)].map(
        (m) => m[1] as string,
      );
      expect(queries.length, name).toBeGreaterThan(0);
      for (const query of queries) {
        const words =
          query.replace(/"[^"]*"|\/[^/]*\/|@\w+|\b\d+[mh]?\b/g, ' ').match(/[A-Za-z_][A-Za-z0-9_.]*/g) ?? [];
        for (const word of words) expect(known, `${name}: "${word}" in ${query}`).toContain(word);
      }
    }
  });
});

describe('docs/monitoring.md', () => {
  it('lists every alarm and event rule with its severity and runbook', () => {
    const text = readFileSync(path.join(PROJECT_ROOT, 'docs', 'monitoring.md'), 'utf8');
    for (const spec of everyNotification) {
      const row = text
        .split('\n')
        .map((line) => line.split('|').map((cell) => cell.trim()))
        .find((cells) => cells[1]?.split(/[ -]/)[0] === spec.id);
      expect(row, spec.id).toBeDefined();
      expect(row?.[2]).toBe(spec.severity.toUpperCase());
      expect(row?.[4]).toContain(`(runbooks/${spec.runbook}.md)`);
    }
  });
});

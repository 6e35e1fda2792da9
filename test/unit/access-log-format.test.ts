import { describe, expect, it } from 'vitest';
import { ACCESS_LOG_FIELDS } from '../../lib/constructs/access-log-format';
import { refusedPrincipal, renderAccessLogLine, served, unsigned } from '../kit/builders/access-log-sample';

/**
 * The access log must be JSON on every line, also for requests refused before the integration
 * runs: Contributor Insights and Logs Insights skip lines that do not parse, and those are
 * exactly the 403s the unusual-usage alarms count.
 */
describe('API access-log format', () => {
  const caller = 'arn:aws:sts::444455556666:assumed-role/payments-service/i-0abc';

  it.each([
    ['a served request', served(caller)],
    ['a request refused by the resource policy', refusedPrincipal(caller)],
    ['an unsigned request', unsigned('198.51.100.7')],
  ])('%s renders as one JSON object with every field', (_, request) => {
    const record = JSON.parse(renderAccessLogLine(request)) as Record<string, unknown>;
    expect(Object.keys(record).sort()).toEqual(Object.keys(ACCESS_LOG_FIELDS).sort());
    expect(record.status).toBe(request.status);
    expect(typeof record.status).toBe('number');
    expect(record.caller).toBe(request.caller ?? '-');
  });

  it('writes the caller ARN and outcome, never a request or response body', () => {
    const line = renderAccessLogLine(served(caller));
    expect(line).toContain(caller);
    expect(Object.values(ACCESS_LOG_FIELDS).join(' ')).not.toMatch(
      /requestBody|responseBody|\$input|Authorization/i,
    );
  });
});

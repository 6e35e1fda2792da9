import { describe, expect, it } from 'vitest';
import { matchesEventPattern, UnsupportedPatternError } from '../kit/builders/event-pattern-matcher';

/** The matcher the secret-audit tests rely on, checked against the EventBridge rules it implements. */
describe('event-pattern matcher', () => {
  const event = {
    source: 'aws.secretsmanager',
    'detail-type': 'AWS API Call via CloudTrail',
    resources: ['arn:a', 'arn:b'],
    detail: {
      eventName: 'GetSecretValue',
      count: 5,
      flag: false,
      nothing: null,
      userIdentity: { type: 'AssumedRole', arn: 'arn:aws:sts::1:assumed-role/Admin/alice' },
    },
  };

  it('matches exact values of every scalar type and needs every field to match (AND)', () => {
    expect(matchesEventPattern({ source: ['aws.secretsmanager'] }, event)).toBe(true);
    expect(matchesEventPattern({ detail: { count: [5], flag: [false], nothing: [null] } }, event)).toBe(true);
    expect(
      matchesEventPattern(
        { source: ['aws.secretsmanager'], detail: { eventName: ['PutSecretValue'] } },
        event,
      ),
    ).toBe(false);
    expect(matchesEventPattern({ detail: { count: ['5'] } }, event)).toBe(false);
  });

  it('ORs the matchers of one field and matches any element of an array value', () => {
    expect(matchesEventPattern({ detail: { eventName: ['PutSecretValue', 'GetSecretValue'] } }, event)).toBe(
      true,
    );
    expect(matchesEventPattern({ resources: ['arn:b'] }, event)).toBe(true);
    expect(matchesEventPattern({ resources: ['arn:c'] }, event)).toBe(false);
  });

  it('prefix, suffix and equals-ignore-case', () => {
    expect(
      matchesEventPattern({ detail: { userIdentity: { arn: [{ prefix: 'arn:aws:sts::1:' }] } } }, event),
    ).toBe(true);
    expect(
      matchesEventPattern({ detail: { userIdentity: { arn: [{ prefix: 'arn:aws:iam::' }] } } }, event),
    ).toBe(false);
    expect(matchesEventPattern({ detail: { userIdentity: { arn: [{ suffix: '/alice' }] } } }, event)).toBe(
      true,
    );
    expect(
      matchesEventPattern({ detail: { eventName: [{ 'equals-ignore-case': 'getsecretvalue' }] } }, event),
    ).toBe(true);
    expect(
      matchesEventPattern(
        { detail: { eventName: [{ prefix: { 'equals-ignore-case': 'GETSECRET' } }] } },
        event,
      ),
    ).toBe(true);
    expect(matchesEventPattern({ detail: { count: [{ prefix: '5' }] } }, event)).toBe(false);
  });

  it('anything-but: a list, a single value, and a prefix', () => {
    const type = (m: unknown) => matchesEventPattern({ detail: { userIdentity: { type: [m] } } }, event);
    expect(type({ 'anything-but': ['IAMUser', 'Root'] })).toBe(true);
    expect(type({ 'anything-but': ['AssumedRole'] })).toBe(false);
    expect(type({ 'anything-but': 'AssumedRole' })).toBe(false);
    expect(type({ 'anything-but': { prefix: 'Assumed' } })).toBe(false);
    expect(type({ 'anything-but': { prefix: 'IAM' } })).toBe(true);
  });

  it('a missing field matches nothing, not even anything-but; only exists:false', () => {
    const missing = (m: unknown) => matchesEventPattern({ detail: { errorCode: [m] } }, event);
    expect(missing({ 'anything-but': ['AccessDenied'] })).toBe(false);
    expect(missing({ prefix: '' })).toBe(false);
    expect(missing({ exists: false })).toBe(true);
    expect(missing({ exists: true })).toBe(false);
    expect(matchesEventPattern({ detail: { eventName: [{ exists: true }] } }, event)).toBe(true);
    expect(matchesEventPattern({ detail: { absent: { nested: ['x'] } } }, event)).toBe(false);
  });

  it('an object value never equals a leaf', () => {
    expect(matchesEventPattern({ detail: { userIdentity: [{ 'anything-but': ['x'] }] } }, event)).toBe(false);
  });

  it('numeric ranges', () => {
    expect(matchesEventPattern({ detail: { count: [{ numeric: ['>', 0, '<=', 5] }] } }, event)).toBe(true);
    expect(matchesEventPattern({ detail: { count: [{ numeric: ['>', 5] }] } }, event)).toBe(false);
  });

  it('$or needs one alternative, and combines with sibling fields (AND)', () => {
    const pattern = (type: string, arn: string) => ({
      source: ['aws.secretsmanager'],
      detail: {
        $or: [
          { userIdentity: { type: [{ 'anything-but': [type] }] } },
          { userIdentity: { arn: [{ prefix: arn }] } },
        ],
      },
    });
    expect(matchesEventPattern(pattern('AssumedRole', 'arn:aws:sts::1:assumed-role/Admin'), event)).toBe(
      true,
    );
    expect(matchesEventPattern(pattern('IAMUser', 'nope'), event)).toBe(true);
    expect(matchesEventPattern(pattern('AssumedRole', 'nope'), event)).toBe(false);
    expect(matchesEventPattern({ ...pattern('IAMUser', 'x'), source: ['aws.kms'] }, event)).toBe(false);
  });

  it('rejects syntax it does not implement instead of guessing', () => {
    expect(() => matchesEventPattern({ source: [{ wildcard: 'aws.*' }] }, event)).toThrow(
      UnsupportedPatternError,
    );
    expect(() => matchesEventPattern({ source: 'aws.secretsmanager' }, event)).toThrow(
      UnsupportedPatternError,
    );
    expect(() => matchesEventPattern({ source: [] }, event)).toThrow(UnsupportedPatternError);
    expect(() => matchesEventPattern({ detail: { $or: [{ a: ['b'] }] } }, event)).toThrow(
      UnsupportedPatternError,
    );
    expect(() => matchesEventPattern({ source: [{ prefix: 'a', suffix: 'b' }] }, event)).toThrow(
      UnsupportedPatternError,
    );
  });
});

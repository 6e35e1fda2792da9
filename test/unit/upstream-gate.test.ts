import { describe, expect, it } from 'vitest';
import { parseRetryAfter } from '../../contract/backoff';
import type { GateSettings } from '../../contract/broker-settings';
import { parseGateItem } from '../../lambda/aws/gate-store';
import {
  admit,
  backoffMs,
  budgetFreesAtMs,
  closedForSeconds,
  EMPTY_GATE,
  type GateState,
  recordOutcome,
  releaseLease,
  requestsInWindow,
} from '../../lambda/upstream/gate-policy';
import { UpstreamGate } from '../../lambda/upstream/upstream-gate';

/** The gate's decisions as pure functions of (state, now), and the conditional-write loop around them. */
const SETTINGS: GateSettings = {
  backoffBaseSeconds: 5,
  backoffCapSeconds: 300,
  credentialsRejectedWaitSeconds: 900,
  maxRetryAfterSeconds: 3_600,
  dailyRequestBudget: 10,
  leaseSeconds: 10,
};
const HOUR = 3_600_000;
const T0 = 1_800_000_000_000 - (1_800_000_000_000 % HOUR); // on an hour boundary
const who = { owner: 'a', credentialVersionId: 'v1' };
const transient = {
  ok: false as const,
  reason: 'upstream_unavailable' as const,
  status: 503,
  credentialVersionId: 'v1',
};

function admitted(state: GateState, nowMs: number, request = who): GateState {
  const decision = admit(state, nowMs, request, SETTINGS);
  if (!decision.admitted) throw new Error(`not admitted: ${decision.reason}`);
  return decision.next;
}

describe('admit — the lease (one upstream request in flight, fleet-wide)', () => {
  it('admits into an empty gate, takes the lease and counts the request', () => {
    const decision = admit(EMPTY_GATE, T0, who, SETTINGS);
    expect(decision).toMatchObject({ admitted: true, probe: false });
    if (!decision.admitted) return;
    expect(decision.next.lease).toEqual({ owner: 'a', untilMs: T0 + 10_000 });
    expect(requestsInWindow(decision.next, T0)).toBe(1);
  });

  it('refuses a second owner while the lease holds, telling it to look again within a second', () => {
    const held = admitted(EMPTY_GATE, T0);
    expect(admit(held, T0 + 100, { ...who, owner: 'b' }, SETTINGS)).toEqual({
      admitted: false,
      reason: 'request_in_flight',
      retryAtMs: T0 + 1_100,
    });
  });

  it('an expired lease (its holder died) no longer blocks', () => {
    const held = admitted(EMPTY_GATE, T0);
    expect(admit(held, T0 + 10_000, { ...who, owner: 'b' }, SETTINGS).admitted).toBe(true);
  });

  it('even an override waits for the lease: overrides never make two requests at once', () => {
    const held = admitted(EMPTY_GATE, T0);
    expect(admit(held, T0 + 1, { ...who, owner: 'b', override: true }, SETTINGS)).toMatchObject({
      admitted: false,
      reason: 'request_in_flight',
    });
  });

  it('releasing the lease without an outcome leaves everything else as it was', () => {
    const held = admitted(EMPTY_GATE, T0);
    const released = releaseLease(held, 'a');
    expect(released.lease).toBeUndefined();
    expect(requestsInWindow(released, T0)).toBe(1);
    expect(releaseLease(released, 'a')).toBe(released);
    expect(releaseLease(held, 'someone-else')).toBe(held);
  });
});

describe('recordOutcome — backoff across invocations', () => {
  it('a transient failure closes the gate for [base/2, base]; consecutive failures double it up to the cap', () => {
    let state = EMPTY_GATE;
    let now = T0;
    const waits: number[] = [];
    for (let i = 0; i < 10; i++) {
      state = recordOutcome(admitted(state, now), now, 'a', transient, SETTINGS, () => 0.999);
      waits.push(state.closedUntilMs - now);
      now = state.closedUntilMs;
    }
    expect(waits.map((w) => Math.round(w / 1000))).toEqual([5, 10, 20, 40, 80, 160, 300, 300, 300, 300]);
    expect(state).toMatchObject({ consecutiveFailures: 10, closedBy: 'backoff', failingSinceMs: T0 });
  });

  it('equal jitter: the wait is never below half the ceiling (no hot retries)', () => {
    for (let n = 1; n <= 12; n++) {
      const ceiling = Math.min(300_000, 5_000 * 2 ** (n - 1));
      expect(backoffMs(n, SETTINGS, () => 0)).toBe(ceiling / 2);
      expect(backoffMs(n, SETTINGS, () => 0.999_999)).toBeLessThanOrEqual(ceiling);
    }
  });

  it('while closed, every caller is refused until the wait ends; then one probe decides', () => {
    const closed = recordOutcome(admitted(EMPTY_GATE, T0), T0, 'a', transient, SETTINGS, () => 0.999);
    expect(admit(closed, T0 + 4_000, { ...who, owner: 'b' }, SETTINGS)).toEqual({
      admitted: false,
      reason: 'backoff',
      retryAtMs: closed.closedUntilMs,
    });
    const probe = admit(closed, closed.closedUntilMs, { ...who, owner: 'b' }, SETTINGS);
    expect(probe).toMatchObject({ admitted: true, probe: true });
    if (!probe.admitted) return;
    // Others see the probe as "in flight", not as an open gate.
    expect(admit(probe.next, closed.closedUntilMs + 1, { ...who, owner: 'c' }, SETTINGS)).toMatchObject({
      reason: 'request_in_flight',
    });
    const opened = recordOutcome(
      probe.next,
      closed.closedUntilMs + 200,
      'b',
      { ok: true, issuedLifetimeSeconds: 600 },
      SETTINGS,
    );
    expect(opened).toMatchObject({
      consecutiveFailures: 0,
      closedUntilMs: 0,
      failingSinceMs: 0,
      issuedLifetimeSeconds: 600,
    });
    expect(opened.lease).toBeUndefined();
    expect(opened.closedBy).toBeUndefined();
  });

  it('Retry-After is honoured for everyone (never sooner), capped by maxRetryAfterSeconds', () => {
    const limited = recordOutcome(
      admitted(EMPTY_GATE, T0),
      T0,
      'a',
      { ...transient, status: 429, retryAfterSeconds: 600 },
      SETTINGS,
    );
    expect(limited).toMatchObject({ closedUntilMs: T0 + 600_000, closedBy: 'retry_after' });
    expect(admit(limited, T0 + 599_999, { ...who, owner: 'x' }, SETTINGS)).toMatchObject({
      reason: 'rate_limited',
    });
    const absurd = recordOutcome(
      admitted(EMPTY_GATE, T0),
      T0,
      'a',
      { ...transient, retryAfterSeconds: 10_000_000 },
      SETTINGS,
    );
    expect(absurd.closedUntilMs).toBe(T0 + 3_600_000);
    // A Retry-After shorter than the backoff does not shorten it.
    const short = recordOutcome(
      admitted(EMPTY_GATE, T0),
      T0,
      'a',
      { ...transient, retryAfterSeconds: 1 },
      SETTINGS,
      () => 0.999,
    );
    expect(short).toMatchObject({ closedBy: 'backoff' });
    expect(short.closedUntilMs - T0).toBeGreaterThan(4_000);
  });

  it('invalid_client holds back those credentials for the configured wait; new credentials go at once', () => {
    const rejected = recordOutcome(
      admitted(EMPTY_GATE, T0),
      T0,
      'a',
      { ok: false, reason: 'invalid_client', status: 401, credentialVersionId: 'v1' },
      SETTINGS,
    );
    expect(rejected).toMatchObject({ closedUntilMs: T0 + 900_000, closedBy: 'credentials_rejected' });
    expect(admit(rejected, T0 + 60_000, { owner: 'b', credentialVersionId: 'v1' }, SETTINGS)).toMatchObject({
      reason: 'credentials_rejected',
    });
    expect(admit(rejected, T0 + 60_000, { owner: 'b', credentialVersionId: 'v2' }, SETTINGS).admitted).toBe(
      true,
    );
  });

  it('an operator override passes the wait and the budget, and is counted', () => {
    const closed = recordOutcome(
      admitted(EMPTY_GATE, T0),
      T0,
      'a',
      { ...transient, retryAfterSeconds: 600 },
      SETTINGS,
    );
    const decision = admit(closed, T0 + 1_000, { ...who, owner: 'op', override: true }, SETTINGS);
    expect(decision).toMatchObject({ admitted: true, probe: true });
    if (decision.admitted) expect(decision.next.overrides).toBe(1);
  });

  it('closedForSeconds counts from the first failure of the streak until a success', () => {
    let state = recordOutcome(admitted(EMPTY_GATE, T0), T0, 'a', transient, SETTINGS);
    expect(closedForSeconds(state, T0 + 30_000)).toBe(30);
    state = recordOutcome(admitted(state, T0 + 40_000), T0 + 40_000, 'a', transient, SETTINGS);
    // The wait ran out without a probe: still failing.
    expect(closedForSeconds(state, T0 + 3_600_000)).toBe(3_600);
    state = recordOutcome(
      admitted(state, T0 + 3_600_000),
      T0 + 3_600_000,
      'a',
      { ok: true, issuedLifetimeSeconds: 60 },
      SETTINGS,
    );
    expect(closedForSeconds(state, T0 + 3_600_001)).toBe(0);
  });
});

describe('the rolling 24-hour budget', () => {
  function withRequests(perHour: Record<number, number>): GateState {
    const hourly: Record<string, number> = {};
    for (const [offset, count] of Object.entries(perHour)) hourly[String(T0 / HOUR + Number(offset))] = count;
    return { ...EMPTY_GATE, hourlyRequests: hourly };
  }

  it('at the budget the next request is refused until the oldest hour leaves the window', () => {
    const state = withRequests({ 0: 4, 5: 6 }); // 10 = the budget
    const now = T0 + 6 * HOUR;
    expect(requestsInWindow(state, now)).toBe(10);
    expect(admit(state, now, who, SETTINGS)).toEqual({
      admitted: false,
      reason: 'budget_exhausted',
      retryAtMs: T0 + 24 * HOUR,
    });
    expect(budgetFreesAtMs(state, now, 10)).toBe(T0 + 24 * HOUR);
  });

  it('rolls over: hours older than 24 drop out (and out of the stored item)', () => {
    const state = withRequests({ 0: 4, 5: 6 });
    expect(requestsInWindow(state, T0 + 24 * HOUR)).toBe(6);
    const next = admitted(state, T0 + 24 * HOUR);
    expect(Object.keys(next.hourlyRequests)).toEqual([String(T0 / HOUR + 5), String(T0 / HOUR + 24)]);
    expect(requestsInWindow(next, T0 + 24 * HOUR)).toBe(7);
  });

  it('a clock step backwards neither counts future buckets nor loses the current ones', () => {
    const state = withRequests({ 10: 3 });
    expect(requestsInWindow(state, T0 + 9 * HOUR)).toBe(0);
    expect(requestsInWindow(state, T0 + 10 * HOUR)).toBe(3);
  });

  it('when several hours must leave, the wait is until enough of them have', () => {
    const state = withRequests({ 0: 2, 1: 2, 2: 8 }); // 12 ≥ 10: must drop 0 and 1 (→ 8)
    expect(budgetFreesAtMs(state, T0 + 3 * HOUR, 10)).toBe(T0 + 25 * HOUR);
  });
});

describe('Retry-After parsing (RFC 9110 §10.2.3)', () => {
  const now = Date.parse('Tue, 01 Dec 2026 23:00:00 GMT');
  it.each([
    ['600', 600],
    [' 0 ', 0],
    ['Tue, 01 Dec 2026 23:10:00 GMT', 600],
    ['Tue, 01 Dec 2026 22:00:00 GMT', 0],
    ['-1', undefined],
    ['soon', undefined],
    ['', undefined],
    [null, undefined],
  ])('%s → %s', (header, seconds) => {
    expect(parseRetryAfter(header, now)).toBe(seconds);
  });
});

describe('gate item parsing (defensive)', () => {
  it('an absent item is an empty gate; an unparseable state is "corrupt" but keeps its version', () => {
    expect(parseGateItem(undefined)).toEqual({ state: EMPTY_GATE, corrupt: false });
    expect(
      parseGateItem({ pk: { S: 'upstream-gate' }, version: { N: '7' }, state: { S: '{not json' } }),
    ).toEqual({
      state: { ...EMPTY_GATE, version: 7 },
      corrupt: true,
    });
  });

  it('drops fields of the wrong type instead of trusting them', () => {
    const { state } = parseGateItem({
      pk: { S: 'upstream-gate' },
      version: { N: '3' },
      state: {
        S: JSON.stringify({
          consecutiveFailures: 'many',
          closedUntilMs: 5,
          closedBy: 'magic',
          hourlyRequests: { '123': 2, bad: 1, '124': -3 },
          lease: { owner: 7 },
        }),
      },
    });
    expect(state).toEqual({ ...EMPTY_GATE, version: 3, closedUntilMs: 5, hourlyRequests: { '123': 2 } });
  });
});

describe('UpstreamGate — conditional writes', () => {
  /** An in-memory store with DynamoDB's conditional-put semantics on `version`. */
  class VersionedStore {
    stored: GateState = EMPTY_GATE;
    writes = 0;
    conflictsToInject = 0;
    async read() {
      return { state: this.stored, corrupt: false };
    }
    async write(next: GateState) {
      this.writes += 1;
      if (this.conflictsToInject > 0) {
        this.conflictsToInject -= 1;
        // Someone else took the lease meanwhile.
        this.stored = {
          ...this.stored,
          version: this.stored.version + 1,
          lease: { owner: 'other', untilMs: T0 + 10_000 },
        };
        return false;
      }
      if (next.version !== this.stored.version) return false;
      this.stored = { ...next, version: next.version + 1 };
      return true;
    }
  }

  it('a lost race is decided again on what the winner wrote: the loser sees the lease', async () => {
    const store = new VersionedStore();
    store.conflictsToInject = 1;
    const gate = new UpstreamGate(store, SETTINGS, { now: () => T0 });
    const result = await gate.acquire(who);
    expect(result).toMatchObject({ admitted: false, reason: 'request_in_flight' });
    expect(store.writes).toBe(1);
  });

  it('two callers at once: exactly one is admitted', async () => {
    const store = new VersionedStore();
    const gate = new UpstreamGate(store, SETTINGS, { now: () => T0 });
    const [a, b] = await Promise.all([gate.acquire(who), gate.acquire({ ...who, owner: 'b' })]);
    expect([a.admitted, b.admitted].filter(Boolean)).toHaveLength(1);
  });

  it('finish records the outcome and releases the lease', async () => {
    const store = new VersionedStore();
    const gate = new UpstreamGate(store, SETTINGS, { now: () => T0, random: () => 0.999 });
    await gate.acquire(who);
    const after = await gate.finish('a', transient);
    expect(after.lease).toBeUndefined();
    expect(store.stored).toMatchObject({ consecutiveFailures: 1, closedBy: 'backoff' });
  });
});

import type { GateSettings } from '../../contract/broker-settings';
import type { DeferReason } from '../../contract/mint-token-payload';
import type { GateRead } from '../aws/gate-store';
import { TokenCacheError } from '../errors/broker-errors';
import {
  type AdmitRequest,
  admit,
  type GateState,
  type RequestOutcome,
  recordOutcome,
  releaseLease,
} from './gate-policy';

export interface GateStorage {
  read(): Promise<GateRead>;
  write(next: GateState): Promise<boolean>;
}

export type Acquisition =
  | { readonly admitted: true; readonly probe: boolean; readonly state: GateState }
  | {
      readonly admitted: false;
      readonly reason: DeferReason;
      readonly retryAtMs: number;
      readonly state: GateState;
    };

/** Conflicting writers are rare (a handful of upstream requests an hour); past this many, report "in flight". */
const MAX_WRITE_CONFLICTS = 5;

/**
 * The gate as mint-token uses it: read the shared state, decide with gate-policy, write the decision
 * back conditionally, and on a lost race decide again on what the winner wrote.
 */
export class UpstreamGate {
  private readonly now: () => number;
  private readonly random: () => number;

  constructor(
    private readonly store: GateStorage,
    readonly settings: GateSettings,
    options: {
      readonly now?: () => number;
      readonly random?: () => number;
      readonly onCorrupt?: () => void;
    } = {},
  ) {
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
    this.onCorrupt = options.onCorrupt ?? (() => {});
  }

  private readonly onCorrupt: () => void;

  async describe(): Promise<GateState> {
    return (await this.readState()).state;
  }

  /** Asks for the lease of one upstream request. */
  async acquire(request: AdmitRequest): Promise<Acquisition> {
    let last: GateState | undefined;
    for (let i = 0; i < MAX_WRITE_CONFLICTS; i++) {
      const { state } = await this.readState();
      last = state;
      const nowMs = this.now();
      const decision = admit(state, nowMs, request, this.settings);
      if (!decision.admitted) return { ...decision, state };
      if (await this.store.write(decision.next)) {
        return {
          admitted: true,
          probe: decision.probe,
          state: { ...decision.next, version: state.version + 1 },
        };
      }
    }
    return {
      admitted: false,
      reason: 'request_in_flight',
      retryAtMs: this.now() + 1_000,
      state: last as GateState,
    };
  }

  /** Records how the admitted request ended and releases its lease. Returns the state written. */
  async finish(owner: string, outcome: RequestOutcome): Promise<GateState> {
    return this.update((state, nowMs) =>
      recordOutcome(state, nowMs, owner, outcome, this.settings, this.random),
    );
  }

  /** Releases the lease of a request that was never sent (e.g. the cache turned out fresh). */
  async release(owner: string): Promise<GateState> {
    return this.update((state) => releaseLease(state, owner));
  }

  private async update(change: (state: GateState, nowMs: number) => GateState): Promise<GateState> {
    for (let i = 0; ; i++) {
      const { state } = await this.readState();
      const next = change(state, this.now());
      if (next === state) return state;
      if (await this.store.write(next)) return { ...next, version: state.version + 1 };
      // Each lost race means someone else wrote; the change is re-applied to what they wrote.
      if (i >= MAX_WRITE_CONFLICTS * 2)
        throw new TokenCacheError('Upstream gate kept changing under this writer; try again');
    }
  }

  private async readState(): Promise<GateRead> {
    const read = await this.store.read();
    if (read.corrupt) this.onCorrupt();
    return read;
  }
}

// routing.write_wait, the one implementation: when the router refuses for a reason a topology
// change can cure (a failover, a node readmitted or probed for the first time), wait for the
// next snapshot and decide again, until the deadline. Sessions (a request's route) and the
// startup reply (a node for the startup parameters) both wait here. The caller passes its own
// decide function (usually a closure over router/route.ts), so topology imports nothing from
// router beyond types.

import type { RouteDecision } from '../router/types.js';
import type { TopologySnapshot } from './types.js';

export interface SnapshotSource {
  readonly snapshot: TopologySnapshot;
  waitForChange(timeoutMs: number): Promise<TopologySnapshot | null>;
}

export interface RouteWaitOptions {
  /** Refusals worth waiting for; default 'no-master' and 'residency'. */
  readonly isCurable?: (d: Extract<RouteDecision, { ok: false }>) => boolean;
  /** Decide again at least this often even without a topology change (default: only on a change). */
  readonly pollMs?: number;
  /** The caller no longer wants an answer (its session closed): stop at the next wake-up. */
  readonly isCancelled?: () => boolean;
  readonly now?: () => number;
}

const failoverCurable = (d: Extract<RouteDecision, { ok: false }>): boolean => d.refusal === 'no-master' || d.refusal === 'residency';

/**
 * Decide now; while the refusal is curable, wait for the next snapshot and decide again, up to
 * waitMs. Resolves with the last decision (never rejects unless `decide` throws).
 */
export async function waitForRoute(
  source: SnapshotSource,
  decide: (snap: TopologySnapshot) => RouteDecision,
  waitMs: number,
  opts: RouteWaitOptions = {},
): Promise<RouteDecision> {
  const now = opts.now ?? Date.now;
  const isCurable = opts.isCurable ?? failoverCurable;
  const pollMs = opts.pollMs ?? Infinity;
  let decision = decide(source.snapshot);
  const deadline = now() + waitMs;
  while (!decision.ok && isCurable(decision)) {
    const left = deadline - now();
    if (left <= 0) break;
    const snap = await source.waitForChange(Math.min(left, pollMs));
    if (opts.isCancelled?.() === true) break;
    if (snap === null && pollMs >= left) break; // the whole wait passed without a change
    decision = decide(snap ?? source.snapshot);
  }
  return decision;
}

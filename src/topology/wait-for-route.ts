// routing.write_wait: when no master can take a write, wait for the topology to change and try
// again until the deadline. The caller passes its own decide function (usually a closure over
// router/route.ts), so topology imports nothing from router beyond types.

import type { RouteDecision } from '../router/types.js';
import type { TopologySnapshot } from './types.js';

export interface SnapshotSource {
  readonly snapshot: TopologySnapshot;
  waitForChange(timeoutMs: number): Promise<TopologySnapshot | null>;
}

/**
 * Decide now; while the refusal is one a failover can cure ('no-master', 'residency'), wait for
 * the next snapshot and decide again, up to waitMs. Resolves with the last decision.
 */
export async function waitForRoute(
  source: SnapshotSource,
  decide: (snap: TopologySnapshot) => RouteDecision,
  waitMs: number,
  now: () => number = Date.now,
): Promise<RouteDecision> {
  let decision = decide(source.snapshot);
  const deadline = now() + waitMs;
  while (!decision.ok && (decision.refusal === 'no-master' || decision.refusal === 'residency')) {
    const left = deadline - now();
    if (left <= 0) break;
    const snap = await source.waitForChange(left);
    if (snap === null) break;
    decision = decide(snap);
  }
  return decision;
}

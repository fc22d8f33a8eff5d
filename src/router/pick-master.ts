// Choose the write target: the nearest eligible master. Pure and allocation-free: two linear
// passes over the snapshot instead of sorting. Returns a node index or -1; refusals are built
// elsewhere (refusal.ts).

import type { NodeSnapshot, TopologySnapshot } from '../topology/types.js';
import { Check, checkWrite } from './node-checks.js';
import { proximityMs } from './proximity.js';
import type { RouteIndex } from './route-index.js';

/**
 * Among masters that are up, `active`, allowed by residency (`mask`, null = all) and not
 * split-brain losers: the smallest proximity; nodes within the proximity tolerance of it are
 * equal and then the higher `priority` wins, then config order (so equal-distance masters never
 * alternate).
 */
export function pickMaster(snap: TopologySnapshot, mask: Uint8Array | null, index: RouteIndex, client: Float64Array | null): number {
  const nodes = snap.nodes;
  const prox = index.scratch;
  let best = Infinity;
  let found = false;
  for (let i = 0; i < nodes.length; i++) {
    if ((mask !== null && mask[i] === 0) || checkWrite(nodes[i] as NodeSnapshot, null) !== Check.ok) {
      prox[i] = NaN; // NaN fails every comparison below: not a candidate
      continue;
    }
    found = true;
    const p = proximityMs(snap, i, index.proximity, client);
    prox[i] = p;
    if (p < best) best = p;
  }
  if (!found) return -1;
  const limit = best + index.proximityToleranceMs;
  let chosen = -1;
  let chosenPriority = -Infinity;
  for (let i = 0; i < nodes.length; i++) {
    // Infinity <= Infinity holds: nodes of unknown distance tie among themselves.
    if (!((prox[i] as number) <= limit)) continue;
    const priority = (nodes[i] as NodeSnapshot).priority;
    if (priority > chosenPriority) {
      chosen = i;
      chosenPriority = priority;
    }
  }
  return chosen;
}

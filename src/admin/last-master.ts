// The safety check before a drain: draining a node must not leave a residency rule's regions (or
// the whole cluster) without a master that can take writes. Pure: snapshot + rules → the sets
// that would lose their last master. DRAIN … FORCE skips it.

import type { ResidencyRule } from '../config/types.js';
import type { NodeSnapshot, TopologySnapshot } from '../topology/types.js';

function canWrite(n: NodeSnapshot): boolean {
  return n.isUp && n.role === 'master' && n.state === 'active' && !n.isSplitBrain;
}

/** Descriptions of the sets (residency rules, then "the cluster") whose last master `node` is. */
export function lastMasterOf(snap: TopologySnapshot, rules: readonly ResidencyRule[], node: string): string[] {
  const target = snap.byName.get(node);
  if (target === undefined || !canWrite(target)) return [];
  const others = snap.nodes.filter((n) => n.name !== node && canWrite(n));
  const out: string[] = [];
  for (const r of rules) {
    if (!r.regions.includes(target.region)) continue;
    if (!others.some((n) => r.regions.includes(n.region))) out.push(`residency rule "${r.name}" (regions ${r.regions.join(', ')})`);
  }
  if (others.length === 0) out.push('the cluster');
  return out;
}

// Choose the read target: lowest lag among eligible nodes, then nearest, then least busy, then
// least recently routed to. Pure and allocation-free (linear passes over a per-snapshot scratch
// array, no sorting). Returns a node index or -1.

import type { NodeSnapshot, TopologySnapshot } from '../topology/types.js';
import { Check, checkRead } from './node-checks.js';
import { proximityMs } from './proximity.js';
import type { RouteIndex } from './route-index.js';
import type { ActiveBackends, LastRouted, RoutePolicy, WriteMark } from './types.js';

/** Which roles may serve this read. */
export const ReadRoles = { any: 0, replicas: 1, masters: 2 } as const;
export type ReadRolesCode = (typeof ReadRoles)[keyof typeof ReadRoles];

export function roleMatches(node: NodeSnapshot, roles: ReadRolesCode): boolean {
  if (roles === ReadRoles.any) return true;
  return roles === ReadRoles.replicas ? node.role === 'replica' : node.role === 'master';
}

/**
 * Nodes within `lagToleranceMs` of the lowest lag are equal; among them the nearest (within the
 * proximity tolerance) are equal; among those the fewest active backends wins, then the node
 * routed to least recently (`lastRouted`), then config order. Without the recency step, idle
 * sessions (no backend active anywhere) would all read from the first equal node in config order.
 * `mask` is the residency mask (null = all allowed). `after`: read-your-writes, only nodes that
 * have the session's last write are candidates (hasSeenWrite).
 */
export function pickRead(
  snap: TopologySnapshot,
  mask: Uint8Array | null,
  roles: ReadRolesCode,
  policy: RoutePolicy,
  index: RouteIndex,
  client: Float64Array | null,
  activeBackends: ActiveBackends,
  lastRouted: LastRouted,
  after: WriteMark | null = null,
): number {
  const nodes = snap.nodes;
  const lag = index.scratch; // lag of candidates, NaN for the others
  let minLag = Infinity;
  for (let i = 0; i < nodes.length; i++) {
    const n = nodes[i] as NodeSnapshot;
    if (
      (mask !== null && mask[i] === 0) ||
      checkRead(n, null, policy.maxReadLagMs) !== Check.ok ||
      !roleMatches(n, roles) ||
      (after !== null && !hasSeenWrite(n, after))
    ) {
      lag[i] = NaN;
      continue;
    }
    const l = n.lagMs as number;
    lag[i] = l;
    if (l < minLag) minLag = l;
  }
  if (minLag === Infinity) return -1;
  const lagLimit = minLag + policy.lagToleranceMs;
  let minProx = Infinity;
  for (let i = 0; i < nodes.length; i++) {
    if (!((lag[i] as number) <= lagLimit)) continue;
    const prox = proximityMs(snap, i, index.proximity, client);
    if (prox < minProx) minProx = prox;
  }
  const proxLimit = minProx + index.proximityToleranceMs;
  let chosen = -1;
  let chosenBusy = Infinity;
  let chosenSeq = Infinity;
  for (let i = 0; i < nodes.length; i++) {
    if (!((lag[i] as number) <= lagLimit)) continue;
    if (!(proximityMs(snap, i, index.proximity, client) <= proxLimit)) continue;
    const name = (nodes[i] as NodeSnapshot).name;
    const busy = activeBackends(name);
    if (busy > chosenBusy) continue;
    // Strictly less: an equal sequence number (never routed, both) keeps config order.
    const seq = lastRouted(name);
    if (busy < chosenBusy || seq < chosenSeq) {
      chosen = i;
      chosenBusy = busy;
      chosenSeq = seq;
    }
  }
  return chosen;
}

/**
 * Has this node the session's last write: it took it, or its watermark passed the write's time
 * (health/seen-writes.ts). Timestamps are whole ms and a heartbeat's comes back through
 * timestamptz as a float, so "later" means at least half a ms later: a watermark taken in the
 * same ms as the write's acknowledgement may predate it.
 */
export function hasSeenWrite(n: NodeSnapshot, mark: WriteMark): boolean {
  if (n.name === mark.node) return true;
  // A standby the writer's primary waits for (remote_apply) has it, unless the write's session
  // lowered synchronous_commit (the mark says so).
  if (n.syncAppliedFrom === mark.node && mark.isSyncApplied === true) return true;
  const t = n.seenWrites?.get(mark.node);
  return t !== undefined && t >= mark.atMs + 0.5;
}

/** Every configured node has the write: the session needs no mark any more. */
export function isWriteSeenEverywhere(snap: TopologySnapshot, mark: WriteMark): boolean {
  const nodes = snap.nodes;
  for (let i = 0; i < nodes.length; i++) if (!hasSeenWrite(nodes[i] as NodeSnapshot, mark)) return false;
  return true;
}

/**
 * Multi-master cluster whose lag is unknown on every node that could otherwise serve a read (up,
 * active, role known, not a split-brain loser), with at least one such node. Then reads follow
 * writes (the nearest master) instead of failing: typically a misconfigured heartbeat (its
 * table not replicated), reported by the health monitor and SHOW NODES. Judged over the whole
 * cluster, residency aside: one node with a known lag anywhere keeps the ordinary rules (a known
 * lag over max_read_lag is a real staleness, never bypassed). Not with reads_on_masters: never.
 */
export function isLagUnknownEverywhere(snap: TopologySnapshot, policy: Pick<RoutePolicy, 'isMultiMaster' | 'readsOnMasters' | 'maxReadLagMs'>): boolean {
  if (!policy.isMultiMaster || policy.readsOnMasters === 'never') return false;
  const nodes = snap.nodes;
  let unknown = 0;
  for (let i = 0; i < nodes.length; i++) {
    const c = checkRead(nodes[i] as NodeSnapshot, null, policy.maxReadLagMs);
    if (c === Check.lagUnknown) unknown++;
    else if (c === Check.ok || c === Check.lagTooHigh) return false;
  }
  return unknown > 0;
}

// Per-snapshot precomputation for the router: proximity tables and the frozen success decisions,
// built once per (snapshot, policy) and kept in a WeakMap so a route decision allocates nothing.
// Pure data; never reads a clock, never picks a node.

import type { NodeSnapshot, TopologySnapshot } from '../topology/types.js';
import { buildProximityTables, type ProximityTables } from './proximity.js';
import type { RouteDecision, RoutePolicy } from './types.js';

export const DEFAULT_PROXIMITY_TOLERANCE_MS = 1;

/** The reason of a read sent to the nearest master because lag is unknown on every node. */
export const READ_FOLLOWS_WRITES_PHRASE = 'lag unknown on every node: the read follows writes (nearest healthy master)';

/** Why a node was chosen; the constant phrase of a successful RouteDecision. */
export const OkReason = {
  write: 0,
  read: 1,
  readMasterFallback: 2,
  hintNode: 3,
  hintMaster: 4,
  hintReplica: 5,
  readYourWrites: 6,
  readFollowsWrites: 7,
} as const;
export type OkReasonCode = (typeof OkReason)[keyof typeof OkReason];

const OK_PHRASES: readonly string[] = [
  'nearest healthy master',
  'lowest lag',
  'lowest lag (no replica eligible; master serves the read, reads_on_masters: fallback)',
  'hint node=',
  'hint route=master: nearest healthy master',
  'hint route=replica: lowest lag',
  "read-your-writes: the node that took the session's last write (no other eligible node has replayed it yet)",
  READ_FOLLOWS_WRITES_PHRASE,
];
const KINDS = OK_PHRASES.length;

export interface RouteIndex {
  readonly snap: TopologySnapshot;
  readonly proximity: ProximityTables;
  readonly proximityToleranceMs: number;
  readonly decisions: (RouteDecision | undefined)[];
  /** Residency sets seen with this snapshot → 1 per allowed node, so the hot loop does no hashing. */
  readonly allowedMasks: WeakMap<ReadonlySet<string>, Uint8Array>;
  /** Per-node scratch for one pick (route() is synchronous, so one array per snapshot suffices). */
  readonly scratch: Float64Array;
}

const cache = new WeakMap<TopologySnapshot, RouteIndex>();

/** The index for this snapshot and policy (rebuilt if the policy object changed). */
export function routeIndex(snap: TopologySnapshot, policy: RoutePolicy): RouteIndex {
  const hit = cache.get(snap);
  if (hit !== undefined && hit.proximity.policy === policy) return hit;
  const index: RouteIndex = {
    snap,
    proximity: buildProximityTables(snap, policy),
    proximityToleranceMs: policy.proximityToleranceMs ?? DEFAULT_PROXIMITY_TOLERANCE_MS,
    decisions: new Array<RouteDecision | undefined>(snap.nodes.length * KINDS).fill(undefined),
    allowedMasks: new WeakMap(),
    scratch: new Float64Array(snap.nodes.length),
  };
  cache.set(snap, index);
  return index;
}

/** The cached, frozen success decision for node i and reason kind. */
export function okDecision(index: RouteIndex, i: number, kind: OkReasonCode): RouteDecision {
  const slot = i * KINDS + kind;
  let d = index.decisions[slot];
  if (d === undefined) {
    const node = index.snap.nodes[i];
    if (node === undefined) throw new Error(`okDecision: no node at index ${i}`);
    const phrase = OK_PHRASES[kind] as string;
    const reason = kind === OkReason.hintNode ? `${phrase}${node.name}` : phrase;
    d = Object.freeze({ ok: true as const, node: node.name, reason });
    index.decisions[slot] = d;
  }
  return d;
}

/** 1 for each node the residency set allows; null = every node allowed. Cached per set. */
/** In a read's relations: what it reads is not known; no node with unreplicated tables may serve it. */
export const UNKNOWN_RELATION = '*';

/**
 * `mask` (null: every node) less the nodes holding one of `relations` without replicating it (a
 * logical subscriber with partial publications). A new array only when one is left out.
 */
export function withoutUnreplicated(snap: TopologySnapshot, mask: Uint8Array | null, relations: readonly string[] | null | undefined): Uint8Array | null {
  if (relations === null || relations === undefined || relations.length === 0) return mask;
  const nodes = snap.nodes;
  let out: Uint8Array | null = null;
  for (let i = 0; i < nodes.length; i++) {
    const u = (nodes[i] as NodeSnapshot).unreplicated;
    if (u === null || u === undefined || (mask !== null && mask[i] === 0)) continue;
    if (!relations.some((r) => r === UNKNOWN_RELATION || u.has(r))) continue;
    if (out === null) out = mask !== null ? mask.slice() : new Uint8Array(nodes.length).fill(1);
    out[i] = 0;
  }
  return out ?? mask;
}

export function allowedMask(index: RouteIndex, allowed: ReadonlySet<string> | null): Uint8Array | null {
  if (allowed === null) return null;
  let mask = index.allowedMasks.get(allowed);
  if (mask === undefined) {
    const nodes = index.snap.nodes;
    mask = new Uint8Array(nodes.length);
    for (let i = 0; i < nodes.length; i++) mask[i] = allowed.has((nodes[i] as { region: string }).region) ? 1 : 0;
    index.allowedMasks.set(allowed, mask);
  }
  return mask;
}

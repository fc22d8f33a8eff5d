// The routing policy (README, "What it does" → Routing): one request + session context + topology snapshot → a node
// or a refusal with a human reason. Pure and fast: reads the snapshot once, allocates nothing on
// success (the frozen decision *objects* are cached per snapshot in route-index.ts, one per node
// and reason; which node is chosen is decided afresh on every call). Waiting for a master
// (write_wait) is the caller's job: see topology/wait-for-route.ts.

import type { RouteHint } from '../classify/types.js';
import type { TopologySnapshot } from '../topology/types.js';
import { pickMaster } from './pick-master.js';
import { Check, checkRead } from './node-checks.js';
import { isLagUnknownEverywhere, pickRead, ReadRoles, type ReadRolesCode } from './pick-read.js';
import { clientTable } from './proximity.js';
import { refuseHeldWrite, refuseNodeHint, refuseRead, refuseWrite } from './refusal.js';
import { allowedMask, okDecision, OkReason, routeIndex, withoutUnreplicated, type OkReasonCode, type RouteIndex } from './route-index.js';
import type { ActiveBackends, LastRouted, RouteDecision, RouteIntent, RoutePolicy, RouteRequest, SessionRouteContext, WriteMark } from './types.js';

/** For callers that keep no routing history: equal read candidates then go by config order. */
export const NEVER_ROUTED: LastRouted = () => 0;

/** The hint that applies: a statement hint beats the session hint. */
export function effectiveHint(req: RouteRequest, ctx: SessionRouteContext): RouteHint | null {
  return req.hint ?? ctx.sessionHint;
}

/** What a hint turns the request into. */
export type RoutePlan =
  | { readonly kind: 'node'; readonly node: string }
  | { readonly kind: 'write'; readonly viaHint: boolean }
  | { readonly kind: 'read'; readonly viaHint: boolean };

const PLAN_WRITE: RoutePlan = { kind: 'write', viaHint: false };
const PLAN_READ: RoutePlan = { kind: 'read', viaHint: false };
const PLAN_HINT_MASTER: RoutePlan = { kind: 'write', viaHint: true };
const PLAN_HINT_REPLICA: RoutePlan = { kind: 'read', viaHint: true };

/**
 * Hints override the classifier's intent: route=master routes as a write (nearest master),
 * route=replica as a read that prefers replicas, node=NAME goes to that node or is refused.
 */
export function planRoute(intent: RouteIntent, hint: RouteHint | null): RoutePlan {
  if (hint === null) return intent === 'write' ? PLAN_WRITE : PLAN_READ;
  if ('node' in hint) return { kind: 'node', node: hint.node };
  return hint.route === 'master' ? PLAN_HINT_MASTER : PLAN_HINT_REPLICA;
}

/**
 * Role sets to try for a read, in order. route=replica turns `always` into `fallback`: replicas
 * first, masters only when no replica is eligible (an active-active cluster has only masters, so
 * the hint still finds a node there).
 */
export function readRoleOrder(policy: RoutePolicy, viaReplicaHint: boolean): readonly ReadRolesCode[] {
  const mode = viaReplicaHint && policy.readsOnMasters === 'always' ? 'fallback' : policy.readsOnMasters;
  if (mode === 'always') return ROLES_ANY;
  if (mode === 'never') return ROLES_REPLICAS;
  return ROLES_FALLBACK;
}
const ROLES_ANY: readonly ReadRolesCode[] = [ReadRoles.any];
const ROLES_REPLICAS: readonly ReadRolesCode[] = [ReadRoles.replicas];
const ROLES_FALLBACK: readonly ReadRolesCode[] = [ReadRoles.replicas, ReadRoles.masters];

function routeWrite(snap: TopologySnapshot, ctx: SessionRouteContext, policy: RoutePolicy, index: RouteIndex, kind: OkReasonCode): RouteDecision {
  // A switchover is under way: the old primary finishes what it runs, new writes wait for the new one.
  if (snap.writesHeld !== null) return refuseHeldWrite(snap.writesHeld);
  const mask = allowedMask(index, ctx.allowedRegions);
  const i = pickMaster(snap, mask, index, clientTable(index.proximity, snap, ctx.clientRegion));
  return i >= 0 ? okDecision(index, i, kind) : refuseWrite(snap, ctx, policy);
}

function routeRead(
  snap: TopologySnapshot,
  ctx: SessionRouteContext,
  policy: RoutePolicy,
  index: RouteIndex,
  activeBackends: ActiveBackends,
  lastRouted: LastRouted,
  viaHint: boolean,
  after: WriteMark | null,
  relations: readonly string[] | null | undefined,
): RouteDecision {
  const order = readRoleOrder(policy, viaHint);
  const client = clientTable(index.proximity, snap, ctx.clientRegion);
  const mask = withoutUnreplicated(snap, allowedMask(index, ctx.allowedRegions), relations);
  if (after !== null) {
    const d = routeReadAfterWrite(snap, policy, index, activeBackends, lastRouted, order, client, mask, after);
    if (d !== null) return d;
    if (after.isCausal === true) {
      return { ok: false, refusal: 'causal', reason: `no node known to have the causal token's write (taken on node "${after.node}") can serve a read` };
    }
    // The node that took the write cannot serve (down, draining, removed): the guarantee
    // lapses with it, as a failover may lose the write itself. A plain read follows.
  }
  for (let k = 0; k < order.length; k++) {
    const i = pickRead(snap, mask, order[k] as ReadRolesCode, policy, index, client, activeBackends, lastRouted);
    if (i < 0) continue;
    const kind = viaHint ? OkReason.hintReplica : k > 0 ? OkReason.readMasterFallback : OkReason.read;
    return okDecision(index, i, kind);
  }
  // Lag unknown everywhere (a heartbeat that does not replicate): reads go where writes go,
  // within the session's residency, rather than failing while writes succeed.
  if (isLagUnknownEverywhere(snap, policy)) {
    const i = pickMaster(snap, mask, index, client);
    if (i >= 0) return okDecision(index, i, OkReason.readFollowsWrites);
  }
  return refuseRead(snap, ctx, policy, order.length === 1 ? (order[0] as ReadRolesCode) : ReadRoles.any);
}

/**
 * Read-your-writes: the usual choice among nodes that have the session's last write; when none
 * but the node that took it, that node (whatever reads_on_masters says, and even while its lag
 * is unknown). Null: that node cannot serve a read (down, draining, lag over max_read_lag).
 */
function routeReadAfterWrite(
  snap: TopologySnapshot,
  policy: RoutePolicy,
  index: RouteIndex,
  activeBackends: ActiveBackends,
  lastRouted: LastRouted,
  order: readonly ReadRolesCode[],
  client: Float64Array | null,
  mask: Uint8Array | null,
  after: WriteMark,
): RouteDecision | null {
  for (let k = 0; k < order.length; k++) {
    const i = pickRead(snap, mask, order[k] as ReadRolesCode, policy, index, client, activeBackends, lastRouted, after);
    if (i >= 0 && snap.nodes[i]?.name !== after.node) return okDecision(index, i, k > 0 ? OkReason.readMasterFallback : OkReason.read);
  }
  const w = indexOfNode(snap, after.node);
  if (w < 0 || (mask !== null && mask[w] === 0)) return null;
  // Its lag to the other masters may be unknown (start-up, a peer's heartbeat not seen yet):
  // it still has the session's write, which any other node may lack.
  const c = checkRead(snap.nodes[w]!, null, policy.maxReadLagMs);
  if (c !== Check.ok && c !== Check.lagUnknown) return null;
  return okDecision(index, w, OkReason.readYourWrites);
}

function indexOfNode(snap: TopologySnapshot, name: string): number {
  const nodes = snap.nodes;
  for (let i = 0; i < nodes.length; i++) if (nodes[i]?.name === name) return i;
  return -1;
}

/**
 * Route one request. README ("What it does" → Routing) states the rules. `lastRouted` is the caller's
 * routing history, the last tie-break between equal read candidates (see pickRead).
 */
export function route(
  req: RouteRequest,
  snap: TopologySnapshot,
  ctx: SessionRouteContext,
  policy: RoutePolicy,
  activeBackends: ActiveBackends,
  lastRouted: LastRouted = NEVER_ROUTED,
): RouteDecision {
  const index = routeIndex(snap, policy);
  const plan = planRoute(req.intent, effectiveHint(req, ctx));
  switch (plan.kind) {
    case 'write':
      return routeWrite(snap, ctx, policy, index, plan.viaHint ? OkReason.hintMaster : OkReason.write);
    case 'read':
      return routeRead(snap, ctx, policy, index, activeBackends, lastRouted, plan.viaHint, plan.viaHint ? null : (req.after ?? null), req.relations);
    case 'node': {
      const refusal = refuseNodeHint(snap, ctx, policy, plan.node);
      if (refusal !== null) return refusal;
      return okDecision(index, indexOfNode(snap, plan.node), OkReason.hintNode);
    }
  }
}

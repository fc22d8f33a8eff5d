// EXPLAIN ROUTE: the decision route() makes plus, for every node, why it was or was not chosen
// (residency, down, drain, role, lag, proximity, busy-ness, recency). Pure; used by the admin
// console, not on the request path, so it may allocate.

import type { RouteHint } from '../classify/types.js';
import type { AdminState, NodeRole, NodeSnapshot, TopologySnapshot } from '../topology/types.js';
import { Check, checkRead, checkWrite, describeCheck } from './node-checks.js';
import { ReadRoles, roleMatches } from './pick-read.js';
import { clientTable, proximityMs } from './proximity.js';
import { effectiveHint, NEVER_ROUTED, planRoute, readRoleOrder, route } from './route.js';
import { routeIndex } from './route-index.js';
import type { ActiveBackends, LastRouted, RouteDecision, RouteIntent, RoutePolicy, RouteRequest, SessionRouteContext } from './types.js';

export interface NodeRouteExplanation {
  readonly node: string;
  readonly region: string;
  readonly role: NodeRole;
  readonly state: AdminState;
  readonly isUp: boolean;
  readonly proximityMs: number | null; // null: unknown (no RTT, no configured distance)
  readonly lagMs: number | null;
  readonly activeBackends: number;
  readonly isEligible: boolean;
  readonly isChosen: boolean;
  readonly reason: string;
}

export interface RouteExplanation {
  readonly decision: RouteDecision;
  readonly intent: RouteIntent;
  readonly plan: 'write' | 'read' | 'node';
  readonly hint: RouteHint | null;
  readonly hintSource: 'statement' | 'session' | null;
  readonly proximitySource: 'rtt' | 'client-region';
  readonly residencyRule: string | null;
  readonly nodes: readonly NodeRouteExplanation[];
}

function fmtMs(ms: number): string {
  return Number.isFinite(ms) ? `${Math.round(ms * 10) / 10} ms` : 'unknown';
}

interface Ctx {
  readonly snap: TopologySnapshot;
  readonly ctx: SessionRouteContext;
  readonly policy: RoutePolicy;
  readonly prox: (i: number) => number;
  readonly busy: ActiveBackends;
  readonly chosen: string | null;
  readonly planKind: 'write' | 'read' | 'node';
  readonly hintNode: string | null;
  readonly viaHint: boolean;
}

/** Why node i was or was not chosen; [isEligible, reason]. */
function explainNode(c: Ctx, i: number, n: NodeSnapshot): [boolean, string] {
  const proxText = `proximity ${fmtMs(c.prox(i))}`;
  if (c.planKind === 'node') {
    if (n.name !== c.hintNode) return [false, `${n.name} not named by the hint`];
    return [n.name === c.chosen, n.name === c.chosen ? `${n.name} chosen by hint node=${n.name}` : 'named by the hint but refused'];
  }
  if (c.planKind === 'write') {
    const code = checkWrite(n, c.ctx.allowedRegions);
    if (code !== Check.ok) return [false, describeCheck(code, n, c.ctx, c.policy)];
    if (n.name === c.chosen) return [true, `chosen: nearest healthy master (${proxText}, priority ${n.priority})`];
    return [true, `eligible master, not preferred (${proxText}, priority ${n.priority})`];
  }
  const code = checkRead(n, c.ctx.allowedRegions, c.policy.maxReadLagMs);
  if (code !== Check.ok) return [false, describeCheck(code, n, c.ctx, c.policy)];
  const order = readRoleOrder(c.policy, c.viaHint);
  const servesRole = order.some((r) => roleMatches(n, r));
  if (!servesRole) return [false, `${n.name} is a master (reads_on_masters: never)`];
  const lag = `lag ${fmtMs(n.lagMs as number)}`;
  if (n.name === c.chosen) return [true, `chosen: ${lag}, ${proxText}`];
  const isFallbackMaster = order.length > 1 && order[0] === ReadRoles.replicas && n.role === 'master';
  // Equal nodes take turns (least busy, then least recently routed to), so "not chosen" need not
  // mean worse: the facts let the reader compare.
  const why = isFallbackMaster ? 'master, used only when no replica is eligible' : 'not chosen';
  return [true, `eligible, ${why} (${lag}, ${proxText}, ${c.busy(n.name)} active, tolerance ${c.policy.lagToleranceMs} ms)`];
}

/** The decision route() would make now, with per-node reasons. */
export function explainRoute(
  req: RouteRequest,
  snap: TopologySnapshot,
  ctx: SessionRouteContext,
  policy: RoutePolicy,
  activeBackends: ActiveBackends,
  lastRouted: LastRouted = NEVER_ROUTED,
): RouteExplanation {
  const decision = route(req, snap, ctx, policy, activeBackends, lastRouted);
  const hint = effectiveHint(req, ctx);
  const plan = planRoute(req.intent, hint);
  const index = routeIndex(snap, policy);
  const client = clientTable(index.proximity, snap, ctx.clientRegion);
  const c: Ctx = {
    snap,
    ctx,
    policy,
    prox: (i) => proximityMs(snap, i, index.proximity, client),
    busy: activeBackends,
    chosen: decision.ok ? decision.node : null,
    planKind: plan.kind,
    hintNode: plan.kind === 'node' ? plan.node : null,
    viaHint: plan.kind !== 'node' && plan.viaHint,
  };
  const nodes = snap.nodes.map((n, i): NodeRouteExplanation => {
    const [isEligible, reason] = explainNode(c, i, n);
    const p = c.prox(i);
    return {
      node: n.name,
      region: n.region,
      role: n.role,
      state: n.state,
      isUp: n.isUp,
      proximityMs: Number.isFinite(p) ? p : null,
      lagMs: n.lagMs,
      activeBackends: activeBackends(n.name),
      isEligible,
      isChosen: n.name === c.chosen,
      reason,
    };
  });
  return {
    decision,
    intent: req.intent,
    plan: plan.kind,
    hint,
    hintSource: req.hint !== null ? 'statement' : ctx.sessionHint !== null ? 'session' : null,
    proximitySource: client !== null ? 'client-region' : 'rtt',
    residencyRule: ctx.residencyRule,
    nodes,
  };
}

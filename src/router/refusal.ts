// Refusals: the human sentence that says why no node can take a request, e.g.
// "no healthy master: dublin down (2 failed probes: connection refused), virginia draining".
// Only runs when routing failed, so it may allocate. Pure.

import type { NodeSnapshot, TopologySnapshot } from '../topology/types.js';
import { Check, checkRead, checkWrite, describeCheck, isAllowed, type CheckCode } from './node-checks.js';
import { ReadRoles, roleMatches, type ReadRolesCode } from './pick-read.js';
import type { RouteDecision, RoutePolicy, RouteRefusal, SessionRouteContext } from './types.js';

function refuse(refusal: RouteRefusal, reason: string): RouteDecision {
  return { ok: false, refusal, reason };
}

function regionsOf(ctx: SessionRouteContext): string {
  return ctx.allowedRegions === null ? '' : [...ctx.allowedRegions].sort().join(', ');
}

/** "no healthy master" + " in regions eu-west" when residency narrows the set. */
function subject(what: string, ctx: SessionRouteContext): string {
  if (ctx.allowedRegions === null) return what;
  const n = ctx.allowedRegions.size;
  return `${what} in ${n === 1 ? 'region' : 'regions'} ${regionsOf(ctx)}`;
}

/**
 * Builds the refusal from per-node reasons. `check` returns the failed check for a node (given
 * the residency set), `foreignOk` says whether a node outside residency would have qualified.
 */
function build(
  snap: TopologySnapshot,
  ctx: SessionRouteContext,
  policy: RoutePolicy,
  what: string,
  base: RouteRefusal,
  check: (n: NodeSnapshot) => CheckCode | string,
): RouteDecision {
  const reasons: string[] = [];
  let foreignWouldServe = false;
  for (const n of snap.nodes) {
    if (!isAllowed(n, ctx.allowedRegions)) {
      if (check(n) === Check.ok) foreignWouldServe = true;
      continue;
    }
    const c = check(n);
    reasons.push(typeof c === 'string' ? c : describeCheck(c, n, ctx, policy));
  }
  const head = subject(what, ctx);
  const detail = reasons.length > 0 ? reasons.join(', ') : ctx.allowedRegions !== null ? 'no node configured there' : 'no nodes configured';
  const refusal = ctx.allowedRegions !== null && foreignWouldServe ? 'residency' : base;
  return refuse(refusal, `${head}: ${detail}`);
}

/** Refusal for a write (or route=master hint). */
export function refuseWrite(snap: TopologySnapshot, ctx: SessionRouteContext, policy: RoutePolicy): RouteDecision {
  // Residency is judged separately in build(); here every node is checked as if allowed.
  return build(snap, ctx, policy, 'no healthy master', 'no-master', (n) => checkWrite(n, null));
}

/** Refusal for a write while a switchover holds writes (TopologySnapshot.writesHeld). */
export function refuseHeldWrite(why: string): RouteDecision {
  return refuse('writes-held', `writes held: ${why}`);
}

/** Refusal for a read after every allowed role set was tried. */
export function refuseRead(snap: TopologySnapshot, ctx: SessionRouteContext, policy: RoutePolicy, roles: ReadRolesCode): RouteDecision {
  return build(snap, ctx, policy, 'no node eligible for reads', 'no-read-node', (n) => {
    const c = checkRead(n, null, policy.maxReadLagMs);
    if (c === Check.ok && !roleMatches(n, roles)) {
      return roles === ReadRoles.replicas ? `${n.name} is a master (reads_on_masters: never)` : `${n.name} is a replica`;
    }
    return c;
  });
}

/** Refusal for a node=NAME hint, or null when the node may take the request. */
export function refuseNodeHint(snap: TopologySnapshot, ctx: SessionRouteContext, policy: RoutePolicy, name: string): RouteDecision | null {
  const n = snap.byName.get(name);
  if (n === undefined) {
    const known = snap.nodes.map((x) => x.name).join(', ');
    return refuse('unknown-node', `hint node=${name}: no node named "${name}" (nodes: ${known === '' ? 'none' : known})`);
  }
  if (!isAllowed(n, ctx.allowedRegions)) {
    return refuse('residency', `hint node=${name}: ${describeCheck(Check.residency, n, ctx, policy)}`);
  }
  if (!n.isUp) return refuse('node-down', `hint node=${name}: ${describeCheck(Check.down, n, ctx, policy)}`);
  if (n.state !== 'active') return refuse('node-down', `hint node=${name}: ${describeCheck(Check.notActive, n, ctx, policy)}`);
  return null;
}

// Per-node eligibility for writes and reads, as small integer codes so the hot path compares
// numbers and allocates nothing; `describeCheck` turns a code into the human phrase that refusals
// and EXPLAIN ROUTE print. Pure; never picks a node.

import type { NodeSnapshot } from '../topology/types.js';
import type { RoutePolicy, SessionRouteContext } from './types.js';

export const Check = {
  ok: 0,
  residency: 1, // region not allowed by the session's residency rule
  down: 2, // not up (failed probes or evicted)
  notActive: 3, // draining / drained / catching-up
  notMaster: 4, // write to a replica or unknown role
  splitBrain: 5, // claims master but is not the preferred one
  roleUnknown: 6, // read: role not known yet
  lagUnknown: 7, // read: lag unknown → never eligible
  lagTooHigh: 8, // read: lag > max_read_lag
} as const;
export type CheckCode = (typeof Check)[keyof typeof Check];

export function isAllowed(node: NodeSnapshot, allowed: ReadonlySet<string> | null): boolean {
  return allowed === null || allowed.has(node.region);
}

/** Checks shared by every route: residency, up, admin state. */
export function checkUsable(node: NodeSnapshot, allowed: ReadonlySet<string> | null): CheckCode {
  if (!isAllowed(node, allowed)) return Check.residency;
  if (!node.isUp) return Check.down;
  if (node.state !== 'active') return Check.notActive;
  return Check.ok;
}

/** Can this node take a write right now? */
export function checkWrite(node: NodeSnapshot, allowed: ReadonlySet<string> | null): CheckCode {
  const c = checkUsable(node, allowed);
  if (c !== Check.ok) return c;
  if (node.role !== 'master') return Check.notMaster;
  if (node.isSplitBrain) return Check.splitBrain;
  return Check.ok;
}

/** Can this node serve a read (ignoring the masters-vs-replicas policy)? */
export function checkRead(node: NodeSnapshot, allowed: ReadonlySet<string> | null, maxReadLagMs: number): CheckCode {
  const c = checkUsable(node, allowed);
  if (c !== Check.ok) return c;
  if (node.role === 'unknown') return Check.roleUnknown;
  // A split-brain loser may hold diverged data: no reads either.
  if (node.isSplitBrain) return Check.splitBrain;
  if (node.lagMs === null) return Check.lagUnknown;
  if (node.lagMs > maxReadLagMs) return Check.lagTooHigh;
  return Check.ok;
}

function describeDown(node: NodeSnapshot): string {
  if (node.failedProbes > 0) {
    const plural = node.failedProbes === 1 ? 'probe' : 'probes';
    const why = node.lastError !== null ? `: ${node.lastError}` : '';
    return `${node.name} down (${node.failedProbes} failed ${plural}${why})`;
  }
  if (node.lastError !== null) return `${node.name} down (${node.lastError})`;
  if (node.lastProbeAtMs === null) return `${node.name} down (not probed yet)`;
  return `${node.name} down`;
}

function describeState(node: NodeSnapshot): string {
  switch (node.state) {
    case 'draining':
      return `${node.name} draining`;
    case 'drained':
      return `${node.name} drained`;
    case 'catching-up':
      return `${node.name} catching up after undrain (lag ${fmtLag(node.lagMs)})`;
    default:
      return `${node.name} active`;
  }
}

function fmtLag(lagMs: number | null): string {
  return lagMs === null ? 'unknown' : `${Math.round(lagMs)} ms`;
}

/** The phrase for a failed check, e.g. "dublin down (2 failed probes: connection refused)". */
export function describeCheck(code: CheckCode, node: NodeSnapshot, ctx: SessionRouteContext, policy: RoutePolicy): string {
  switch (code) {
    case Check.ok:
      return `${node.name} eligible`;
    case Check.residency: {
      // Several matching rules come joined with "+" (the session may use only regions all allow).
      const r = ctx.residencyRule;
      const rule = r === null ? 'residency' : `residency ${r.includes('+') ? 'rules' : 'rule'} "${r}"`;
      return `${node.name} outside ${rule} (region ${node.region})`;
    }
    case Check.down:
      return describeDown(node);
    case Check.notActive:
      return describeState(node);
    case Check.notMaster:
      return node.role === 'replica' ? `${node.name} is a replica` : `${node.name} role unknown`;
    case Check.splitBrain:
      return `${node.name} split brain (claims master, not the preferred one)`;
    case Check.roleUnknown:
      return `${node.name} role unknown`;
    case Check.lagUnknown:
      return `${node.name} lag unknown`;
    case Check.lagTooHigh:
      return `${node.name} lag ${fmtLag(node.lagMs)} exceeds max_read_lag ${policy.maxReadLagMs} ms`;
  }
}

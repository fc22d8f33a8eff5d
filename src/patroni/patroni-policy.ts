// What Patroni's view means for Meridian's topology (cluster.patroni): which configured node each
// member is, the role Patroni gives it, how that combines with what the node's own probe says, and
// whether a switchover is under way (so new writes are held). Pure: no IO, no clock of its own.
//
// Matching: a member is the configured node of the same name; failing that, the node whose
// host:port is the member's (Patroni's postgresql.connect_address). A member that matches no
// node is ignored; a node that no member matches keeps the role its probes find.
//
// Roles: Patroni is the authority on who should be the primary, the probe on what the server is
// now. A node is a master only when Patroni calls it the leader AND its probe finds it out of
// recovery; a replica only when Patroni calls it a replica (or sync standby, or the standby leader
// of a standby cluster) AND its probe finds it in recovery. When they disagree (a promotion the
// probe has not seen yet, an old primary not yet demoted, a server Patroni does not run) the role
// is unknown: no writes and no reads go there until they agree again.

import type { NodeConfig } from '../config/types.js';
import type { NodeRole } from '../topology/types.js';
import type { PatroniMember, PatroniView } from './cluster-view.js';

/** The configured node each member is (node name → member); members matching no node are left out. */
export function matchMembers(view: PatroniView, nodes: readonly NodeConfig[]): Map<string, PatroniMember> {
  const out = new Map<string, PatroniMember>();
  const byName = new Map(nodes.map((n) => [n.name, n]));
  for (const m of view.members) {
    const node = byName.get(m.name) ?? nodes.find((n) => m.host !== null && n.host === m.host && n.port === (m.port ?? 5432));
    if (node !== undefined && !out.has(node.name)) out.set(node.name, m);
  }
  return out;
}

/** Patroni's role as a Meridian role: leader → master, replica / sync_standby / standby_leader → replica. */
export function patroniRole(m: PatroniMember): NodeRole {
  if (m.role === 'leader') return 'master';
  if (m.role === 'replica' || m.role === 'sync_standby' || m.role === 'standby_leader') return 'replica';
  return 'unknown';
}

/** The role routing uses: the probe's when Patroni says nothing of the node, else only what both agree on. */
export function combineRole(probe: NodeRole, patroni: NodeRole | undefined): NodeRole {
  if (patroni === undefined) return probe;
  return probe === patroni ? probe : 'unknown';
}

/** A member as SHOW NODES prints it: "leader running", "replica streaming, lag 0 B". */
export function describeMember(m: PatroniMember): string {
  const lag = m.lagBytes !== null ? `, lag ${m.lagBytes} B` : m.role !== 'leader' ? ', lag unknown' : '';
  return `${m.role} ${m.state === '' ? '(no state)' : m.state}${lag}`;
}

/**
 * Why Patroni's view says the primary is changing now, or null. `previousLeader`: the leader of
 * the last view (null: none known). `horizonMs`: a scheduled switchover due within this long (or
 * overdue) counts as under way; one further off does not hold writes yet.
 */
export function switchoverUnderWay(view: PatroniView, previousLeader: string | null, nowMs: number, horizonMs: number): string | null {
  const leader = view.members.find((m) => m.role === 'leader');
  const s = view.scheduledSwitchover;
  if (s !== null && s.atMs - nowMs <= horizonMs) return `Patroni switchover scheduled${s.to !== null ? ` to ${s.to}` : ''}`;
  if (view.members.length === 0) return null;
  if (leader === undefined) {
    // A standby cluster has a standby leader and never a leader: nothing to hold there.
    if (view.members.some((m) => m.role === 'standby_leader')) return null;
    return previousLeader !== null ? `Patroni cluster has no leader (was ${previousLeader})` : 'Patroni cluster has no leader';
  }
  if (leader.state !== 'running') return `Patroni leader ${leader.name} is ${leader.state === '' ? 'not running' : leader.state}`;
  return null;
}

/** Members whose state says they are going down or coming up (for the log: "demoting", "stopping", …). */
export function membersInTransition(view: PatroniView): string[] {
  return view.members.filter((m) => m.state !== 'running' && m.state !== 'streaming').map((m) => `${m.name} ${m.state || '(no state)'}`);
}

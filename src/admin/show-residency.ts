// SHOW RESIDENCY: one row per residency rule: what it matches, the regions it allows, the nodes
// in them and how many of those can take writes and reads right now, the sessions it restricts,
// and how many requests it refused. Reads only.

import type { ResidencyRule } from '../config/types.js';
import { Check, checkRead, checkWrite } from '../router/node-checks.js';
import type { Meridian } from '../server.js';
import type { TopologySnapshot } from '../topology/types.js';
import { int, text, type AdminTable } from './table.js';

export function describeMatch(rule: ResidencyRule): string {
  const m = rule.match;
  const parts: string[] = [];
  if (m.user !== null) parts.push(`user=${m.user}`);
  if (m.database !== null) parts.push(`database=${m.database}`);
  if (m.applicationName !== null) parts.push(`application_name=${m.applicationName}`);
  if (m.tenant !== null) parts.push(`tenant=${m.tenant}`);
  if (m.cidr !== null) parts.push(`cidr=${m.cidr}`);
  return parts.join(' ') || '(any session)';
}

/** Nodes of the rule's regions that could take a write / a read now. */
export function ruleCapacity(rule: ResidencyRule, snap: TopologySnapshot, maxReadLagMs: number): { nodes: string[]; masters: string[]; readable: string[] } {
  const allowed = new Set(rule.regions);
  const nodes = snap.nodes.filter((n) => allowed.has(n.region));
  return {
    nodes: nodes.map((n) => n.name),
    masters: nodes.filter((n) => checkWrite(n, allowed) === Check.ok).map((n) => n.name),
    readable: nodes.filter((n) => checkRead(n, allowed, maxReadLagMs) === Check.ok).map((n) => n.name),
  };
}

export async function refusalsByRule(m: Meridian): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const v of (await m.metrics.residencyRefusals.get()).values) out.set(String(v.labels.rule), v.value);
  return out;
}

export async function showResidency(m: Meridian): Promise<AdminTable> {
  const snap = m.snapshot();
  const refusals = await refusalsByRule(m);
  const sessionsByRule = new Map<string, number>();
  for (const s of m.sessions.values()) {
    const r = s.isAdmin ? null : s.routing.residency;
    if (r !== null) sessionsByRule.set(r.name, (sessionsByRule.get(r.name) ?? 0) + 1);
  }
  const rows = m.config.residency.map((rule) => {
    const c = ruleCapacity(rule, snap, m.config.routing.maxReadLagMs);
    const status = c.nodes.length === 0 ? 'no nodes' : c.masters.length === 0 ? (c.readable.length === 0 ? 'refusing' : 'no master') : 'ok';
    return [
      rule.name, describeMatch(rule), rule.regions.join(', '), c.nodes.join(', '), c.masters.join(', '), c.readable.join(', '),
      status, sessionsByRule.get(rule.name) ?? 0, refusals.get(rule.name) ?? 0,
    ];
  });
  return {
    columns: [
      text('rule'), text('match'), text('regions'), text('nodes'), text('masters'), text('readable'),
      text('status'), int('sessions'), int('refusals'),
    ],
    rows,
  };
}

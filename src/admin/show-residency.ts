// SHOW RESIDENCY: one row per residency rule: what it matches, the regions it allows, the nodes
// in them and how many of those can take writes and reads right now, the sessions it restricts,
// and how many requests it refused; plus rows for rule combinations sessions match and for
// require_match. Reads only.

import type { SessionResidency } from '../config/residency-match.js';
import type { ResidencyRule } from '../config/types.js';
import { Check, checkRead, checkWrite } from '../router/node-checks.js';
import type { TopologySnapshot } from '../topology/types.js';
import { int, text, type AdminTable } from './table.js';
import type { AdminHost } from './types.js';

function describeMatch(rule: ResidencyRule): string {
  const m = rule.match;
  const parts: string[] = [];
  if (m.user !== null) parts.push(`user=${m.user}`);
  if (m.database !== null) parts.push(`database=${m.database}`);
  if (m.applicationName !== null) parts.push(`application_name=${m.applicationName}`);
  if (m.tenant !== null) parts.push(`tenant=${m.tenant}`);
  if (m.cidr !== null) parts.push(`cidr=${m.cidr}`);
  return parts.join(' ') || '(any session)';
}

/** Nodes of these regions that could take a write / a read now. */
function regionCapacity(regions: readonly string[], snap: TopologySnapshot, maxReadLagMs: number): { nodes: string[]; masters: string[]; readable: string[] } {
  const allowed = new Set(regions);
  const nodes = snap.nodes.filter((n) => allowed.has(n.region));
  return {
    nodes: nodes.map((n) => n.name),
    masters: nodes.filter((n) => checkWrite(n, allowed) === Check.ok).map((n) => n.name),
    readable: nodes.filter((n) => checkRead(n, allowed, maxReadLagMs) === Check.ok).map((n) => n.name),
  };
}

/**
 * Refusals per metric label. A session matching several rules is labelled with their names
 * joined by "+", so such a refusal counts for each of those rules (and for the combination).
 */
async function refusalsByRule(m: Pick<AdminHost, 'metrics'>): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const add = (k: string, v: number) => out.set(k, (out.get(k) ?? 0) + v);
  for (const v of (await m.metrics.residencyRefusals.get()).values) {
    const label = String(v.labels.rule);
    const parts = label.split('+');
    if (parts.length > 1) add(label, v.value);
    for (const rule of parts) add(rule, v.value);
  }
  return out;
}

type Row = [string, string, string, string, string, string, string, number, number];

function row(name: string, match: string, regions: readonly string[], snap: TopologySnapshot, maxReadLagMs: number, sessions: number, refusals: number): Row {
  const c = regionCapacity(regions, snap, maxReadLagMs);
  const status = c.nodes.length === 0 ? 'no nodes' : c.masters.length === 0 ? (c.readable.length === 0 ? 'refusing' : 'no master') : 'ok';
  return [name, match, regions.join(', '), c.nodes.join(', '), c.masters.join(', '), c.readable.join(', '), status, sessions, refusals];
}

/**
 * One row per rule; then one per combination of rules that live sessions match together (their
 * regions are the intersection, so it may allow less than any single rule); then, with
 * residency.require_match, a "*" row for sessions no rule matches (refused at login).
 */
export async function showResidency(m: Pick<AdminHost, 'metrics' | 'config' | 'sessions' | 'topology'>): Promise<AdminTable> {
  const snap = m.topology.snapshot;
  const lag = m.config.routing.maxReadLagMs;
  const refusals = await refusalsByRule(m);
  const sessionsByRule = new Map<string, number>();
  const combos = new Map<string, SessionResidency>();
  for (const s of m.sessions.values()) {
    const r = s.isAdmin ? null : s.routing.residency;
    if (r === null) continue;
    for (const rule of r.rules) sessionsByRule.set(rule.name, (sessionsByRule.get(rule.name) ?? 0) + 1);
    if (r.rules.length > 1) {
      combos.set(r.name, r);
      sessionsByRule.set(r.name, (sessionsByRule.get(r.name) ?? 0) + 1);
    }
  }
  const cfg = m.config.residency;
  const rows: Row[] = cfg.rules.map((rule) =>
    row(rule.name, describeMatch(rule), rule.regions, snap, lag, sessionsByRule.get(rule.name) ?? 0, refusals.get(rule.name) ?? 0),
  );
  for (const [name, r] of combos) {
    rows.push(row(name, `all of: ${r.rules.map((x) => x.name).join(', ')}`, r.regions, snap, lag, sessionsByRule.get(name) ?? 0, refusals.get(name) ?? 0));
  }
  if (cfg.requireMatch) rows.push(['*', '(no rule matches)', '', '', '', '', 'refused at login (require_match)', 0, 0]);
  return {
    columns: [text('rule'), text('match'), text('regions'), text('nodes'), text('masters'), text('readable'), text('status'), int('sessions'), int('refusals')],
    rows,
  };
}

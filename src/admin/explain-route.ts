// EXPLAIN ROUTE <sql> and EXPLAIN ROUTE FOR SESSION <id> <sql>: the class Meridian gives the SQL,
// the node it would pick right now for that session (the admin session itself by default, whose
// residency comes from its own identity, e.g. `-c meridian.tenant=eu1`), and why — one
// "field | value" row per fact, then one row per node with the router's reason for it.

import { decideResidency } from '../config/residency-match.js';
import { Errors } from '../errors.js';
import { residencyDenialError } from '../frontend/context.js';
import { explainRoute } from '../router/explain-route.js';
import { hasSeenWrite } from '../router/pick-read.js';
import { pinReasons, routeContextOf, sessionStateWord } from './session-view.js';
import { text, type AdminTable } from './table.js';
import type { AdminHost, AdminSession } from './types.js';

function hintText(h: { route: string } | { node: string } | null): string {
  if (h === null) return 'none';
  return 'node' in h ? `node=${h.node}` : `route=${h.route}`;
}

export function explainRouteCommand(args: string, session: AdminSession, m: AdminHost): AdminTable {
  let sql = args;
  let target = session;
  const forSession = /^for\s+session\s+(\d+)\s+([\s\S]*)$/i.exec(args);
  if (forSession !== null) {
    const other = m.sessions.get(Number(forSession[1]));
    if (other === undefined) throw Errors.invalidParameter(`no session with id ${forSession[1]} (see SHOW SESSIONS)`);
    target = other;
    sql = forSession[2]!;
  }
  if (sql.trim() === '') throw Errors.invalidParameter('usage: EXPLAIN ROUTE [FOR SESSION <id>] <sql>');
  const cls = m.classify(sql);
  const intent = cls.isWrite ? 'write' : 'read';
  const ctx = routeContextOf(m.config.residency.rules, target);
  const mark = intent === 'read' && !target.isAdmin ? (target.causalMark() ?? target.writeMark) : null;
  const snap = m.topology.snapshot;
  const r = m.routeInputs();
  const ex = explainRoute({ intent, hint: cls.hint, after: mark }, snap, ctx, r.policy, r.activeBackends, r.lastRouted);
  const rows: Array<[string, string | null]> = [
    ['class', `${cls.class} (${cls.reason})`],
    ['intent', intent],
    ['hint', ex.hint === null ? 'none' : `${hintText(ex.hint)} (${ex.hintSource ?? 'statement'})`],
    [
      'residency',
      ctx.residencyRule === null ? 'none (whole cluster)' : `${ctx.residencyRule} (regions ${[...(ctx.allowedRegions ?? [])].join(', ') || 'none in common'})`,
    ],
    ['proximity', ex.proximitySource === 'client-region' ? `client region ${ctx.clientRegion}` : 'probe rtt'],
    ['session', `${target.id} (${sessionStateWord(target)})`],
  ];
  if (target.isAdmin) {
    // The admin session's identity, as a client session: would residency let it log in?
    const i = target.ident;
    const verdict = decideResidency(m.config, {
      user: i.user,
      database: i.database,
      applicationName: i.applicationName,
      tenant: i.tenant,
      clientAddress: i.remoteAddress,
    });
    if (!verdict.ok) rows.push(['login', `refused (${residencyDenialError(verdict).sqlstate}): ${verdict.message}`]);
  }
  if (mark !== null) {
    const have = snap.nodes.filter((n) => hasSeenWrite(n, mark)).map((n) => n.name);
    rows.push(['read-your-writes', `last write on ${mark.node} ${Math.max(0, Date.now() - mark.atMs)} ms ago; nodes known to have it: ${have.join(', ')}`]);
  }
  if (target.attached !== null && !target.isAdmin) {
    const pins = pinReasons(target);
    const why = pins.length > 0 ? `pinned (${pins.join(', ')})` : sessionStateWord(target);
    rows.push(['note', `session is ${why} on ${target.attached.node}: its next request stays there until it is released`]);
  }
  rows.push(['node', ex.decision.ok ? ex.decision.node : null]);
  rows.push(['decision', ex.decision.ok ? ex.decision.reason : `refused (${ex.decision.refusal}): ${ex.decision.reason}`]);
  for (const n of ex.nodes) {
    const facts = `${n.region}, ${n.role}, ${n.state}, ${n.isUp ? 'up' : 'down'}`;
    rows.push([`node ${n.node}`, `${n.isChosen ? 'CHOSEN' : n.isEligible ? 'eligible' : 'excluded'} [${facts}]: ${n.reason}`]);
  }
  return { columns: [text('field'), text('value')], rows, tag: 'EXPLAIN' };
}

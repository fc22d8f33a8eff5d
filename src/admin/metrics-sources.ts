// Scrape-time state gauges (computed from the snapshot, never kept up to date by hand): client
// sessions by state, backends by node and state, node up/role/state, lag, rtt, drain, pinned
// sessions by reason. The admin console installs them once, when it is built.

import type { PinKind } from '../classify/types.js';
import type { Metrics } from '../metrics/metrics.js';
import type { AdminState, NodeRole } from '../topology/types.js';
import { pinReasons, sessionStateWord } from './session-view.js';
import type { AdminHost } from './types.js';

const ROLES: readonly NodeRole[] = ['master', 'replica', 'unknown'];
const STATES: readonly AdminState[] = ['active', 'draining', 'drained', 'catching-up'];
const SESSION_STATES = ['active', 'idle', 'pinned', 'admin'] as const;
const PIN_REASONS: readonly (PinKind | 'opaque-state')[] = ['temp-table', 'advisory-lock', 'listen', 'cursor', 'opaque-state'];

function collectState(m: Pick<AdminHost, 'sessions' | 'topology' | 'pools'>, mt: Metrics): void {
  const sessions = new Map<string, number>(SESSION_STATES.map((s) => [s, 0]));
  const pins = new Map<string, number>(PIN_REASONS.map((r) => [r, 0]));
  for (const s of m.sessions.values()) {
    const w = sessionStateWord(s);
    // in-transaction is a kind of active for the gauge (a backend is attached and working)
    const key = w === 'in-transaction' ? 'active' : w;
    sessions.set(key, (sessions.get(key) ?? 0) + 1);
    for (const r of pinReasons(s)) pins.set(r, (pins.get(r) ?? 0) + 1);
  }
  mt.clientSessions.reset();
  for (const [state, n] of sessions) mt.clientSessions.labels(state).set(n);
  mt.pinnedSessions.reset();
  for (const [reason, n] of pins) mt.pinnedSessions.labels(reason).set(n);

  mt.backends.reset();
  mt.nodeUp.reset();
  mt.nodeRole.reset();
  mt.nodeState.reset();
  mt.lagMs.reset();
  mt.lagBytes.reset();
  mt.rttMs.reset();
  mt.drainState.reset();
  mt.writesHeld.set(m.topology.snapshot.writesHeld === null ? 0 : 1);
  for (const n of m.topology.snapshot.nodes) {
    let active = 0;
    let idle = 0;
    let connecting = 0;
    for (const p of m.pools.poolsOfNode(n.name)) {
      active += p.activeCount;
      idle += p.idleCount;
      connecting += p.connecting;
    }
    mt.backends.labels(n.name, 'active').set(active);
    mt.backends.labels(n.name, 'idle').set(idle);
    mt.backends.labels(n.name, 'connecting').set(connecting);
    mt.nodeUp.labels(n.name, n.region).set(n.isUp ? 1 : 0);
    for (const r of ROLES) mt.nodeRole.labels(n.name, r).set(n.role === r ? 1 : 0);
    for (const st of STATES) mt.nodeState.labels(n.name, st).set(n.state === st ? 1 : 0);
    mt.lagMs.labels(n.name).set(n.lagMs ?? -1);
    mt.lagBytes.labels(n.name).set(n.lagBytes ?? -1);
    mt.rttMs.labels(n.name).set(n.rttMs ?? -1);
    mt.drainState.labels(n.name).set(n.state === 'draining' || n.state === 'drained' ? 1 : 0);
  }
}

export function installMetricsSources(m: Pick<AdminHost, 'sessions' | 'topology' | 'pools' | 'metrics'>): void {
  m.metrics.setSources({ collect: (mt) => collectState(m, mt) });
}

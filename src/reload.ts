// Applies a validated new config to a running Meridian (SIGHUP / RELOAD): what can change at run
// time changes, the rest is reported as needing a restart. Nodes added start probing; nodes
// removed are drained first; routing applies to each session's next request, and residency is
// decided again for every session at once (applyResidency).

import { describeReload } from './config/reload-diff.js';
import type { MeridianConfig } from './config/types.js';
import { Errors } from './errors.js';
import { routePolicyFromConfig } from './router/route-policy.js';
import type { Meridian } from './server.js';

export interface ReloadResult {
  ok: boolean;
  message: string;
  changes: readonly string[];
  needsRestart: readonly string[];
}

/**
 * Residency after a reload: every session's rules are matched again. Sessions the new rules
 * would refuse, or that hold a backend on a node they may no longer use, are closed (57M01, or
 * 28000 for a tenant claim no longer allowed); the rest route under the new rules.
 */
function applyResidency(m: Meridian): void {
  let closed = 0;
  for (const s of [...m.sessions.values()]) if (s.refreshRouting()) closed++;
  if (closed > 0) m.logger.warn({ closed }, 'residency reload closed sessions');
}

export function applyReload(m: Meridian, next: MeridianConfig): ReloadResult {
  const prev = m.config;
  const diff = describeReload(prev, next);
  // Settings that cannot change at run time keep their old values.
  const effective: MeridianConfig = Object.freeze({
    ...next,
    listen: prev.listen,
    tls: prev.tls,
    pool: { ...next.pool, mode: prev.pool.mode },
    cluster: { ...next.cluster, kind: prev.cluster.kind },
    admin: { ...next.admin, http: prev.admin.http },
  });
  m.config = effective;
  m.policy = routePolicyFromConfig(effective);
  closeSessionsOfRemovedUsers(m, prev, effective);
  m.pools.setConfig(effective);
  m.health.setConfig(effective);
  for (const node of diff.removedNodes) m.pools.removeNode(node);
  applyResidency(m);
  m.logger.info({ changes: diff.changes, needsRestart: diff.needsRestart }, 'config reloaded');
  return {
    ok: true,
    message: diff.needsRestart.length > 0 ? `reloaded; needs a restart to change: ${diff.needsRestart.join(', ')}` : 'reloaded',
    changes: diff.changes,
    needsRestart: diff.needsRestart,
  };
}

/**
 * Ends the sessions of users the new config no longer has (FATAL 57P01, as PostgreSQL's
 * pg_terminate_backend): nothing would authenticate them again, and their pools are shut by
 * PoolManager.setConfig right after. Sessions of users whose credentials changed stay.
 */
function closeSessionsOfRemovedUsers(m: Meridian, prev: MeridianConfig, next: MeridianConfig): void {
  const kept = new Set(next.users.map((u) => u.name));
  const removed = prev.users.filter((u) => !kept.has(u.name)).map((u) => u.name);
  if (removed.length === 0) return;
  const gone = new Set(removed);
  let closed = 0;
  for (const s of [...m.sessions.values()]) {
    if (!gone.has(s.ident.user)) continue;
    s.close('user removed by reload', Errors.userRemoved(s.ident.user));
    closed++;
  }
  m.logger.info({ users: removed, sessions: closed }, 'users removed');
}

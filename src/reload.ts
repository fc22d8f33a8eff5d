// Applies a validated new config to the running components (SIGHUP / RELOAD): what can change at
// run time changes, the rest is reported as needing a restart. Every component that reloads
// implements Reconfigurable and is registered once by the process object; applyReload hands each
// the effective config in registration order and reaches into none of them. The session-side
// steps (ending sessions of removed users, matching residency again) are components built here.

import { describeReload, type ReloadDiff } from './config/reload-diff.js';
import type { MeridianConfig } from './config/types.js';
import { Errors } from './errors.js';
import type { Session } from './frontend/session.js';
import type { Logger } from './logger.js';

export interface ReloadResult {
  ok: boolean;
  message: string;
  changes: readonly string[];
  needsRestart: readonly string[];
}

/** What changed, for components that act on the difference (nodes removed, users removed). */
export interface ConfigChange {
  readonly prev: MeridianConfig;
  readonly diff: ReloadDiff;
}

/** A component that takes a new config at run time. */
export interface Reconfigurable {
  applyConfig(next: MeridianConfig, change: ConfigChange): void;
}

/** Settings that cannot change at run time keep their old values. */
function effectiveConfig(prev: MeridianConfig, next: MeridianConfig): MeridianConfig {
  return Object.freeze({
    ...next,
    listen: prev.listen,
    tls: prev.tls,
    pool: { ...next.pool, mode: prev.pool.mode },
    cluster: { ...next.cluster, kind: prev.cluster.kind },
    admin: { ...next.admin, http: prev.admin.http },
  });
}

export function applyReload(prev: MeridianConfig, next: MeridianConfig, components: readonly Reconfigurable[], logger: Logger): ReloadResult {
  const diff = describeReload(prev, next);
  const effective = effectiveConfig(prev, next);
  const change: ConfigChange = { prev, diff };
  for (const c of components) c.applyConfig(effective, change);
  logger.info({ changes: diff.changes, needsRestart: diff.needsRestart }, 'config reloaded');
  return {
    ok: true,
    message: diff.needsRestart.length > 0 ? `reloaded; needs a restart to change: ${diff.needsRestart.join(', ')}` : 'reloaded',
    changes: diff.changes,
    needsRestart: diff.needsRestart,
  };
}

/** What the session-side reload steps use of a session. */
export type ReloadSession = Pick<Session, 'ident' | 'close' | 'refreshRouting'>;

/**
 * Ends the sessions of users the new config no longer has (FATAL 57P01, as PostgreSQL's
 * pg_terminate_backend): nothing would authenticate them again, and their pools are shut by
 * the pool manager's reload right after. Sessions of users whose credentials changed stay.
 */
export function removedUsersCloser(sessions: () => Iterable<ReloadSession>, logger: Logger): Reconfigurable {
  return {
    applyConfig(next, { prev }) {
      const kept = new Set(next.users.map((u) => u.name));
      const removed = prev.users.filter((u) => !kept.has(u.name)).map((u) => u.name);
      if (removed.length === 0) return;
      const gone = new Set(removed);
      let closed = 0;
      for (const s of [...sessions()]) {
        if (!gone.has(s.ident.user)) continue;
        s.close('user removed by reload', Errors.userRemoved(s.ident.user));
        closed++;
      }
      logger.info({ users: removed, sessions: closed }, 'users removed');
    },
  };
}

/**
 * Residency after a reload: every session's rules are matched again. Sessions the new rules
 * would refuse, or that hold a backend on a node they may no longer use, are closed (57M01, or
 * 28000 for a tenant claim no longer allowed); the rest route under the new rules.
 */
export function residencyRematcher(sessions: () => Iterable<ReloadSession>, logger: Logger): Reconfigurable {
  return {
    applyConfig() {
      let closed = 0;
      for (const s of [...sessions()]) if (s.refreshRouting()) closed++;
      if (closed > 0) logger.warn({ closed }, 'residency reload closed sessions');
    },
  };
}

// Who may connect and who may log in: the counts behind limits.max_pending_logins, pool.max_clients
// (with limits.admin_reserved_connections kept for the admin console) and users[].max_connections.
// Pure bookkeeping and policy: the server calls accepted / admit / closed, and this answers with
// an error to send or null. It never touches a socket or a timer.
//
// A connection is "pending" from accept until its login is admitted (or it closes). Admission
// happens once authentication succeeded, before the startup reply, and counts at once, so logins
// that finish together cannot overshoot a limit while they wait for their first backend.

import type { MeridianConfig } from '../config/types.js';
import { Errors, type MeridianError } from '../errors.js';

/** What one tracked connection counts as. */
export interface LoginTicket {
  /** Admitted: counted in `loggedIn` (and in its user's count unless an admin-console session). */
  isAdmitted: boolean;
  isAdminConsole: boolean;
  user: string;
}

export class LoginLimits {
  /** Connections accepted and not yet admitted (cancel requests included). */
  pending = 0;
  /** Sessions admitted and not closed (admin console included). */
  loggedIn = 0;
  /** Admitted non-console sessions per user name. */
  readonly perUser = new Map<string, number>();

  /** At accept, before anything is read: null, or the error to refuse the connection with. */
  refuseAccept(cfg: MeridianConfig): MeridianError | null {
    return this.pending >= cfg.limits.maxPendingLogins ? Errors.tooManyPendingLogins(cfg.limits.maxPendingLogins) : null;
  }

  accepted(): LoginTicket {
    this.pending++;
    return { isAdmitted: false, isAdminConsole: false, user: '' };
  }

  /**
   * After authentication: admits the login (counted from now on) or says why not. Past
   * max_clients − admin_reserved_connections only admin-console logins get in; past max_clients
   * nobody does.
   */
  admit(t: LoginTicket, cfg: MeridianConfig, user: string, isAdminConsole: boolean): MeridianError | null {
    if (t.isAdmitted) return null;
    const max = cfg.pool.maxClients;
    const reserved = Math.min(cfg.limits.adminReservedConnections, max - 1);
    if (this.loggedIn >= max) return Errors.tooManyClients(max);
    if (!isAdminConsole && this.loggedIn >= max - reserved) return Errors.tooManyClientsReserved(max, reserved);
    if (!isAdminConsole) {
      const limit = cfg.users.find((u) => u.name === user)?.maxConnections ?? null;
      const n = this.perUser.get(user) ?? 0;
      if (limit !== null && n >= limit) return Errors.tooManyForUser(user, limit);
      this.perUser.set(user, n + 1);
    }
    this.pending--;
    this.loggedIn++;
    t.isAdmitted = true;
    t.isAdminConsole = isAdminConsole;
    t.user = user;
    return null;
  }

  /** The connection is gone (whatever its phase). Call once per ticket. */
  closed(t: LoginTicket): void {
    if (!t.isAdmitted) {
      this.pending--;
      return;
    }
    this.loggedIn--;
    if (t.isAdminConsole) return;
    const n = (this.perUser.get(t.user) ?? 1) - 1;
    if (n <= 0) this.perUser.delete(t.user);
    else this.perUser.set(t.user, n);
  }
}

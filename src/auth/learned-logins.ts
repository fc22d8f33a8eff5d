// Backend identities learned from client logins: users found through auth.query (not in the
// config), and the SCRAM pass-through keys of users whose configured password is a stored
// secret. The pools read it when they open a backend; only a successful client login writes it,
// so it holds real users only, and it is bounded anyway (LRU).

import { LRUCache } from 'lru-cache';
import type { UserConfig } from '../config/types.js';
import type { BackendSecret } from './scram.js';

const MAX_LEARNED = 10_000;

export class LearnedLogins {
  private readonly users = new LRUCache<string, UserConfig>({ max: MAX_LEARNED });
  private readonly secrets = new LRUCache<string, BackendSecret>({ max: MAX_LEARNED });

  /** A user authenticated through auth.query: the pools may serve it as if configured. */
  rememberUser(name: string): void {
    if (this.users.get(name) === undefined) {
      this.users.set(
        name,
        Object.freeze({ name, password: null, auth: 'scram-sha-256', backendUser: name, backendPassword: null, maxConnections: null, tenants: null }),
      );
    }
  }

  /** The latest proof of a user's identity that can log in to a node without a password. */
  rememberSecret(name: string, secret: BackendSecret): void {
    this.secrets.set(name, secret);
  }

  user(name: string): UserConfig | undefined {
    return this.users.get(name);
  }

  secret(name: string): BackendSecret | null {
    return this.secrets.get(name) ?? null;
  }
}

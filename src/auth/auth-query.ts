// auth.query: looks up the secret of a user not in the config on a node (PgBouncer's auth_query),
// as auth.user on a short-lived connection, so adding an application role needs no config change.
// Every lookup is network IO started by an unauthenticated client, so it is bounded: answers
// (also "no such user") are cached, concurrent lookups of one name share one query, and at most
// auth.max_lookups run at once (beyond that the attempt fails as a wrong password would).

import { LRUCache } from 'lru-cache';
import pg from 'pg';
import type { AuthQueryConfig, BackendTlsMode, NodeConfig } from '../config/types.js';
import { tlsOptions, type BackendTls } from '../backend/backend-tls.js';

export type LookupResult =
  | { readonly kind: 'found'; readonly secret: string }
  | { readonly kind: 'absent' } // no such role, or it has no password
  | { readonly kind: 'error'; readonly reason: 'busy' | 'no-node' | 'failed' };

export interface AuthQueryDeps {
  /** Nodes to ask, best first (up nodes); read per lookup so topology changes apply. */
  nodes(): readonly NodeConfig[];
  tls(): BackendTls;
  connectTimeoutMs(): number;
  /** A lookup failed on a node (logged by the caller; the next node is tried). */
  onError(node: string, err: Error): void;
  /** Clock for the cache (default Date.now). */
  nowMs?(): number;
  /** Runs the query on one node; default: a pg connection as auth.user. Tests pass a fake. */
  queryNode?(cfg: AuthQueryConfig, node: NodeConfig, user: string): Promise<LookupResult>;
}

const MAX_CACHED = 10_000;
/** "No such user" is cached briefly: a new role becomes usable soon after CREATE ROLE. */
const MAX_NEGATIVE_TTL_MS = 5_000;

export class AuthQuery {
  private readonly deps: AuthQueryDeps;
  private readonly cache = new LRUCache<string, { result: LookupResult; expiresAtMs: number }>({ max: MAX_CACHED });
  private readonly now: () => number;
  private readonly inFlight = new Map<string, Promise<LookupResult>>();

  constructor(deps: AuthQueryDeps) {
    this.deps = deps;
    this.now = deps.nowMs ?? Date.now;
  }

  /** The secret pg_authid holds for `user` (cached), or why there is none. */
  lookup(cfg: AuthQueryConfig, user: string): Promise<LookupResult> {
    const key = `${cfg.query}\0${cfg.database}\0${user}`;
    const hit = this.cache.get(key);
    if (hit !== undefined && hit.expiresAtMs > this.now()) return Promise.resolve(hit.result);
    const running = this.inFlight.get(key);
    if (running !== undefined) return running;
    if (this.inFlight.size >= cfg.maxConcurrent) return Promise.resolve({ kind: 'error', reason: 'busy' });
    const p = this.query(cfg, user)
      .catch((): LookupResult => ({ kind: 'error', reason: 'failed' }))
      .then((r) => {
        this.inFlight.delete(key);
        const ttlMs = r.kind === 'found' ? cfg.cacheTtlMs : r.kind === 'absent' ? Math.min(cfg.cacheTtlMs, MAX_NEGATIVE_TTL_MS) : 0;
        if (ttlMs > 0) this.cache.set(key, { result: r, expiresAtMs: this.now() + ttlMs });
        return r;
      });
    this.inFlight.set(key, p);
    return p;
  }

  private async query(cfg: AuthQueryConfig, user: string): Promise<LookupResult> {
    const nodes = this.deps.nodes();
    if (nodes.length === 0) return { kind: 'error', reason: 'no-node' };
    for (const node of nodes) {
      try {
        return await (this.deps.queryNode ? this.deps.queryNode(cfg, node, user) : this.queryNode(cfg, node, user));
      } catch (err) {
        this.deps.onError(node.name, err as Error);
      }
    }
    return { kind: 'error', reason: 'failed' };
  }

  private async queryNode(cfg: AuthQueryConfig, node: NodeConfig, user: string): Promise<LookupResult> {
    const t = this.deps.tls();
    const timeoutMs = this.deps.connectTimeoutMs();
    const client = new pg.Client({
      host: node.host,
      port: node.port,
      user: cfg.user,
      password: cfg.password ?? undefined,
      database: cfg.database,
      application_name: 'meridian-auth-query',
      connectionTimeoutMillis: timeoutMs,
      query_timeout: timeoutMs,
      ssl: usesTls(t.mode) ? tlsOptions(t, node.host) : false,
    });
    client.on('error', () => undefined);
    try {
      await client.connect();
      const res = await client.query({ text: cfg.query, values: [user], rowMode: 'array' });
      const row = res.rows[0] as unknown[] | undefined;
      const secret = row === undefined ? null : row.length >= 2 ? row[1] : row[0];
      return typeof secret === 'string' && secret !== '' ? { kind: 'found', secret } : { kind: 'absent' };
    } finally {
      client.end().catch(() => undefined);
    }
  }
}

/** prefer is treated as require here: the auth user's password should not cross the wire in the clear. */
const usesTls = (mode: BackendTlsMode): boolean => mode !== 'disable';

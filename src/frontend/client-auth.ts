// Client authentication against Meridian's users (the config, then auth.query): one exchange
// object per login, fed the client's password-family messages ('p': PasswordMessage,
// SASLInitialResponse, SASLResponse). Steps are promises: a verifier may still be deriving on the
// thread pool, a user may need looking up, and failures wait auth.failure_delay without blocking.
// An unknown user gets the default method and a fake SCRAM verifier whose salt is derived like a
// real user's, so the handshake does not tell whether the user exists. Never derives keys on the
// event loop; logs and counts every failure.

import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { MeridianConfig, UserConfig } from '../config/types.js';
import { ScramServer, looksLikeStoredSecret, md5FromHash, md5Hash, mockSecret, parseStoredSecret, type BackendSecret, type ScramSecret } from '../auth/scram.js';
import { mockKeyOf, verifierFor } from '../auth/verifiers.js';
import { AuthQuery } from '../auth/auth-query.js';
import { backendTls } from '../backend/backend-tls.js';
import type { LearnedLogins } from '../auth/learned-logins.js';
import { AUTH_CLEARTEXT, authMd5, authSasl, authSaslContinue, authSaslFinal } from '../protocol/encode.js';
import type { ProxyContext } from './context.js';

export type AuthStep =
  | { readonly kind: 'send'; readonly frames: Buffer[] } // more round trips
  | { readonly kind: 'ok'; readonly frames: Buffer[] } // authenticated (frames: e.g. SASLFinal)
  | { readonly kind: 'fail' };

/** Why a login failed (the metric's label and the log's field; never shown to the client). */
export type AuthFailure = 'unknown-user' | 'wrong-password' | 'malformed' | 'lookup-failed';

/** Who the client is, once looked up: its method and what its answer is checked against. */
type Identity =
  | { readonly kind: 'config'; readonly user: UserConfig }
  | { readonly kind: 'looked-up'; readonly method: 'scram-sha-256' | 'md5'; readonly secret: string }
  | { readonly kind: 'unknown'; readonly reason: AuthFailure };

const FAIL: AuthStep = { kind: 'fail' };

const safeEqual = (a: string, b: string): boolean => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

const MD5_HASH = /^md5[0-9a-f]{32}$/;
/** SASL needs two client messages; more than that waiting means the client is not following. */
const MAX_QUEUED = 2;

export class ClientAuth {
  private readonly ctx: ProxyContext;
  private readonly cfg: MeridianConfig;
  private readonly userName: string;
  private readonly remoteAddress: string;
  private readonly salt = randomBytes(4);
  private identity: Identity | null = null;
  private scram: ScramServer | null = null;
  private stage = 0;
  /** The last step's promise: the next message is handled after it. */
  private queue: Promise<unknown> = Promise.resolve();
  private queued = 0;

  constructor(ctx: ProxyContext, userName: string, remoteAddress: string) {
    this.ctx = ctx;
    this.cfg = ctx.cfg();
    this.userName = userName;
    this.remoteAddress = remoteAddress;
  }

  /** The method the client is asked for (unknown users: the default, scram-sha-256). */
  get method(): string {
    const id = this.identity;
    if (id?.kind === 'config') return id.user.auth;
    if (id?.kind === 'looked-up') return id.method;
    return 'scram-sha-256';
  }

  /** First step right after the StartupMessage. */
  start(): Promise<AuthStep> {
    const p = this.identify().then((id): AuthStep | Promise<AuthStep> => {
      this.identity = id;
      const method = this.method;
      if (method === 'trust') return id.kind === 'config' ? this.succeeded(null) : this.failed('unknown-user');
      if (method === 'password') return { kind: 'send', frames: [AUTH_CLEARTEXT] };
      if (method === 'md5') return { kind: 'send', frames: [authMd5(this.salt)] };
      return { kind: 'send', frames: [authSasl(['SCRAM-SHA-256'])] };
    });
    this.queue = p;
    return p;
  }

  private async identify(): Promise<Identity> {
    const user = this.cfg.users.find((u) => u.name === this.userName);
    if (user !== undefined) return { kind: 'config', user };
    const q = this.cfg.auth.query;
    if (q === null) return { kind: 'unknown', reason: 'unknown-user' };
    const r = await authQueryOf(this.ctx).lookup(q, this.userName);
    if (r.kind === 'error') {
      this.ctx.logger.warn({ user: this.userName, reason: r.reason }, 'auth query failed');
      return { kind: 'unknown', reason: 'lookup-failed' };
    }
    if (r.kind === 'absent') return { kind: 'unknown', reason: 'unknown-user' };
    if (r.secret.startsWith('SCRAM-SHA-256$')) return { kind: 'looked-up', method: 'scram-sha-256', secret: r.secret };
    if (MD5_HASH.test(r.secret)) return { kind: 'looked-up', method: 'md5', secret: r.secret };
    // A plaintext or unknown format cannot be checked without keeping it: treat as no usable secret.
    return { kind: 'unknown', reason: 'unknown-user' };
  }

  /**
   * A 'p' frame body (bytes after the 5-byte header). Steps run in order: a message the client
   * pipelined (before seeing the request it answers) waits for the step before it; more than
   * MAX_QUEUED waiting is a protocol abuse. The body is copied: it may be a view of a reused read buffer.
   */
  onMessage(body: Buffer): Promise<AuthStep> {
    if (this.queued >= MAX_QUEUED) return this.failed('malformed');
    const copy = Buffer.from(body);
    this.queued++;
    const p = this.queue.then(() => {
      this.queued--;
      return this.identity === null ? this.failed('malformed') : this.step(copy);
    });
    this.queue = p;
    return p;
  }

  private async step(body: Buffer): Promise<AuthStep> {
    const id = this.identity!;
    const method = this.method;
    if (method === 'password' || method === 'md5') {
      if (this.stage++ !== 0) return this.failed('malformed');
      const nul = body.indexOf(0);
      const given = body.toString('utf8', 0, nul >= 0 ? nul : body.length);
      if (id.kind === 'unknown') return this.failed(id.reason);
      const expected = id.kind === 'looked-up' ? md5FromHash(id.secret, this.salt)
        : id.user.password === null ? null
        : method === 'password' ? id.user.password
        : md5FromHash(md5Hash(this.userName, id.user.password), this.salt);
      if (expected === null || !safeEqual(given, expected)) return this.failed('wrong-password');
      return this.succeeded(id.kind === 'looked-up' ? { kind: 'md5', hash: id.secret } : null);
    }
    // SCRAM-SHA-256
    if (this.stage === 0) {
      this.stage = 1;
      const mechEnd = body.indexOf(0);
      if (mechEnd < 0 || body.toString('utf8', 0, mechEnd) !== 'SCRAM-SHA-256' || body.length < mechEnd + 5) return this.failed('malformed');
      const len = body.readInt32BE(mechEnd + 1);
      if (len < 0 || mechEnd + 5 + len > body.length) return this.failed('malformed');
      const clientFirst = body.toString('utf8', mechEnd + 5, mechEnd + 5 + len);
      this.scram = new ScramServer(await this.verifier(id));
      const serverFirst = this.scram.first(clientFirst);
      if (serverFirst === null) return this.failed('malformed');
      return { kind: 'send', frames: [authSaslContinue(serverFirst)] };
    }
    if (this.stage === 1 && this.scram !== null) {
      this.stage = 2;
      const serverFinal = this.scram.final(body.toString('utf8'));
      if (id.kind === 'unknown') return this.failed(id.reason);
      if (serverFinal === null) return this.failed('wrong-password');
      const secret = this.scramSecretOf(id);
      const passthrough: BackendSecret | null = secret !== null ? { kind: 'scram', secret, clientKey: this.scram.clientKey! } : null;
      return this.succeeded(passthrough, [authSaslFinal(serverFinal)]);
    }
    return this.failed('malformed');
  }

  /** The stored secret pass-through can reuse; null when the user has a plaintext password. */
  private scramSecretOf(id: Identity): ScramSecret | null {
    if (id.kind === 'looked-up') return verifierFromText(id.secret);
    if (id.kind === 'config' && id.user.backendPassword === null && id.user.password !== null) return verifierFromText(id.user.password);
    return null;
  }

  /** Known users: the cached verifier (derived on the thread pool once). Unknown: a fake, no derivation. */
  private async verifier(id: Identity): Promise<ScramSecret> {
    const key = mockKeyOf(this.cfg);
    if (id.kind === 'unknown') return mockSecret(key, this.userName);
    const text = id.kind === 'config' ? id.user.password : id.secret;
    const v = text === null ? null : await verifierFor(this.cfg, this.userName, text);
    return v ?? mockSecret(key, this.userName);
  }

  private succeeded(secret: BackendSecret | null, frames: Buffer[] = []): AuthStep {
    const learned: LearnedLogins = this.ctx.pools.learned;
    if (this.identity?.kind === 'looked-up') learned.rememberUser(this.userName);
    if (secret !== null) learned.rememberSecret(this.userName, secret);
    return { kind: 'ok', frames };
  }

  /** Logs and counts the failure, then answers after auth.failure_delay (a timer, not a busy wait). */
  private async failed(reason: AuthFailure): Promise<AuthStep> {
    this.ctx.logger.info({ user: this.userName, reason, clientAddress: this.remoteAddress }, 'authentication failed');
    this.ctx.metrics.authFailed?.(reason);
    const delayMs = this.cfg.auth.failureDelayMs;
    if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
    return FAIL;
  }
}

function verifierFromText(text: string): ScramSecret | null {
  return looksLikeStoredSecret(text) ? parseStoredSecret(text) : null;
}

/** One auth.query cache per proxy (its pools stand for it). */
const authQueries = new WeakMap<object, AuthQuery>();
function authQueryOf(ctx: ProxyContext): AuthQuery {
  let q = authQueries.get(ctx.pools);
  if (q === undefined) {
    q = new AuthQuery({
      nodes: () => {
        const cfg = ctx.cfg();
        const snap = ctx.snapshot();
        return cfg.cluster.nodes.filter((n) => snap.byName.get(n.name)?.isUp === true);
      },
      tls: () => backendTls(ctx.cfg().cluster),
      connectTimeoutMs: () => ctx.cfg().pool.connectTimeoutMs,
      onError: (node, err) => ctx.logger.warn({ node, err: err.message }, 'auth query failed on node'),
    });
    authQueries.set(ctx.pools, q);
  }
  return q;
}

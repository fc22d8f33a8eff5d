// Client authentication against Meridian's users (the config, then auth.query): one exchange
// object per login, fed the client's password-family messages ('p': PasswordMessage,
// SASLInitialResponse, SASLResponse) one at a time. A step is answered at once when it can be,
// and as a promise when it must wait: a user to look up (auth.query), a verifier still deriving on
// the thread pool (first login after a load), or auth.failure_delay before a refusal.
// An unknown user gets the default method and a fake SCRAM verifier whose salt is derived like a
// real user's, so the handshake does not tell whether the user exists. Never derives keys on the
// event loop; logs and counts every failure.

import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { MeridianConfig, UserConfig } from '../config/types.js';
import {
  ScramServer,
  looksLikeStoredSecret,
  md5FromHash,
  md5Hash,
  mockSecret,
  parseStoredSecret,
  type BackendSecret,
  type ScramSecret,
} from '../auth/scram.js';
import { cachedVerifier, mockKeyOf, verifierFor } from '../auth/verifiers.js';
import { AuthQuery, type LookupResult } from '../auth/auth-query.js';
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
/** A step now, or once something it needs has arrived. */
export type AuthResult = AuthStep | Promise<AuthStep>;

export class ClientAuth {
  private readonly ctx: ProxyContext;
  private readonly cfg: MeridianConfig;
  private readonly userName: string;
  private readonly remoteAddress: string;
  private readonly salt = randomBytes(4);
  private identity: Identity | null = null;
  private scram: ScramServer | null = null;
  private stage = 0;
  /** A step is still being worked out: the caller must hold further messages until it is answered. */
  private isBusy = false;

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
  start(): AuthResult {
    const user = this.cfg.users.find((u) => u.name === this.userName);
    const q = this.cfg.auth.query;
    if (user !== undefined || q === null) return this.request(user !== undefined ? { kind: 'config', user } : { kind: 'unknown', reason: 'unknown-user' });
    return this.busy(
      authQueryOf(this.ctx)
        .lookup(q, this.userName)
        .then((r) => this.request(this.identityFrom(r))),
    );
  }

  private identityFrom(r: LookupResult): Identity {
    if (r.kind === 'error') {
      this.ctx.logger.warn({ user: this.userName, reason: r.reason }, 'auth query failed');
      return { kind: 'unknown', reason: 'lookup-failed' };
    }
    if (r.kind === 'absent') return { kind: 'unknown', reason: 'unknown-user' };
    if (looksLikeStoredSecret(r.secret) && parseStoredSecret(r.secret) !== null) return { kind: 'looked-up', method: 'scram-sha-256', secret: r.secret };
    if (MD5_HASH.test(r.secret)) return { kind: 'looked-up', method: 'md5', secret: r.secret };
    // A plaintext or unknown format: not a secret Meridian checks (it would have to keep the password).
    return { kind: 'unknown', reason: 'unknown-user' };
  }

  private request(id: Identity): AuthResult {
    this.identity = id;
    const method = this.method;
    if (method === 'trust') return id.kind === 'config' ? this.succeeded(null) : this.failed('unknown-user');
    if (method === 'password') return { kind: 'send', frames: [AUTH_CLEARTEXT] };
    if (method === 'md5') return { kind: 'send', frames: [authMd5(this.salt)] };
    return { kind: 'send', frames: [authSasl(['SCRAM-SHA-256'])] };
  }

  /** A 'p' frame body (bytes after the 5-byte header); read before this returns. */
  onMessage(body: Buffer): AuthResult {
    if (this.isBusy || this.identity === null) return this.failed('malformed');
    const id = this.identity;
    const method = this.method;
    if (method === 'password' || method === 'md5') {
      if (this.stage++ !== 0) return this.failed('malformed');
      const nul = body.indexOf(0);
      return this.checkPassword(id, method, body.toString('utf8', 0, nul >= 0 ? nul : body.length));
    }
    // SCRAM-SHA-256
    if (this.stage === 0) {
      this.stage = 1;
      const mechEnd = body.indexOf(0);
      if (mechEnd < 0 || body.toString('utf8', 0, mechEnd) !== 'SCRAM-SHA-256' || body.length < mechEnd + 5) return this.failed('malformed');
      const len = body.readInt32BE(mechEnd + 1);
      if (len < 0 || mechEnd + 5 + len > body.length) return this.failed('malformed');
      const clientFirst = body.toString('utf8', mechEnd + 5, mechEnd + 5 + len);
      const v = this.verifier(id);
      return v instanceof Promise ? this.busy(v.then((secret) => this.scramFirst(secret, clientFirst))) : this.scramFirst(v, clientFirst);
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

  private checkPassword(id: Identity, method: 'password' | 'md5', given: string): AuthResult {
    if (id.kind === 'unknown') return this.failed(id.reason);
    const expected =
      id.kind === 'looked-up'
        ? md5FromHash(id.secret, this.salt)
        : id.user.password === null
          ? null
          : method === 'password'
            ? id.user.password
            : md5FromHash(md5Hash(this.userName, id.user.password), this.salt);
    if (expected === null || !safeEqual(given, expected)) return this.failed('wrong-password');
    return this.succeeded(id.kind === 'looked-up' ? { kind: 'md5', hash: id.secret } : null);
  }

  private scramFirst(secret: ScramSecret, clientFirst: string): AuthResult {
    this.scram = new ScramServer(secret);
    const serverFirst = this.scram.first(clientFirst);
    if (serverFirst === null) return this.failed('malformed');
    return { kind: 'send', frames: [authSaslContinue(serverFirst)] };
  }

  /** Marks a step as pending until its promise settles. */
  private busy(p: Promise<AuthStep>): Promise<AuthStep> {
    this.isBusy = true;
    return p.finally(() => {
      this.isBusy = false;
    });
  }

  /** The stored secret pass-through can reuse; null when the user has a plaintext password. */
  private scramSecretOf(id: Identity): ScramSecret | null {
    if (id.kind === 'looked-up') return verifierFromText(id.secret);
    if (id.kind === 'config' && id.user.backendPassword === null && id.user.password !== null) return verifierFromText(id.user.password);
    return null;
  }

  /**
   * Known users: the cached verifier (derived on the thread pool, once per config). Unknown users:
   * a fake with a stable salt, nothing derived — the proof will be refused whatever it is.
   */
  private verifier(id: Identity): ScramSecret | Promise<ScramSecret> {
    const key = mockKeyOf(this.cfg);
    const fake = () => mockSecret(key, this.userName);
    if (id.kind === 'unknown') return fake();
    const text = id.kind === 'config' ? id.user.password : id.secret;
    if (text === null) return fake();
    const cached = cachedVerifier(this.cfg, this.userName, text);
    if (cached !== undefined) return cached ?? fake();
    return verifierFor(this.cfg, this.userName, text).then((v) => v ?? fake());
  }

  private succeeded(secret: BackendSecret | null, frames: Buffer[] = []): AuthStep {
    const learned: LearnedLogins = this.ctx.pools.learned;
    if (this.identity?.kind === 'looked-up') learned.rememberUser(this.userName);
    if (secret !== null) learned.rememberSecret(this.userName, secret);
    return { kind: 'ok', frames };
  }

  /** Logs and counts the failure; answers after auth.failure_delay (a timer, not a busy wait). */
  private failed(reason: AuthFailure): AuthResult {
    this.ctx.logger.info({ user: this.userName, reason, clientAddress: this.remoteAddress }, 'authentication failed');
    this.ctx.metrics.authFailed?.(reason);
    const delayMs = this.cfg.auth.failureDelayMs;
    if (delayMs <= 0) return FAIL;
    return this.busy(new Promise((r) => setTimeout(() => r(FAIL), delayMs)));
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

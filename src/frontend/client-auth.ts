// Client authentication against Meridian's own user list: one exchange object per login, fed the
// client's password-family messages ('p': PasswordMessage, SASLInitialResponse, SASLResponse).
// Pure apart from randomness: returns the frames to send and whether the login is done.

import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { UserConfig } from '../config/types.js';
import { ScramServer, md5Response, scramSecret, type ScramSecret } from '../auth/scram.js';
import { AUTH_CLEARTEXT, authMd5, authSasl, authSaslContinue, authSaslFinal } from '../protocol/encode.js';

export type AuthStep =
  | { readonly kind: 'send'; readonly frames: Buffer[] } // more round trips
  | { readonly kind: 'ok'; readonly frames: Buffer[] } // authenticated (frames: e.g. SASLFinal)
  | { readonly kind: 'fail' };

/** SCRAM verifiers derived once per (user, password): PBKDF2 is deliberately slow. */
const secrets = new Map<string, ScramSecret>();
function secretFor(user: UserConfig): ScramSecret {
  const key = `${user.name}\0${user.password}`;
  let s = secrets.get(key);
  if (s === undefined) {
    s = scramSecret(user.password ?? '');
    secrets.set(key, s);
  }
  return s;
}

const safeEqual = (a: string, b: string): boolean => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

export class ClientAuth {
  private readonly user: UserConfig | null;
  private readonly userName: string;
  private readonly salt = randomBytes(4);
  private scram: ScramServer | null = null;
  private stage = 0;

  /** `user` null: unknown user name — the exchange runs and then fails, revealing nothing. */
  constructor(user: UserConfig | null, userName: string) {
    this.user = user;
    this.userName = userName;
  }

  get method(): string {
    return this.user?.auth ?? 'scram-sha-256';
  }

  /** First step right after the StartupMessage. */
  start(): AuthStep {
    const method = this.method;
    if (method === 'trust') return this.user ? { kind: 'ok', frames: [] } : { kind: 'fail' };
    if (method === 'password') return { kind: 'send', frames: [AUTH_CLEARTEXT] };
    if (method === 'md5') return { kind: 'send', frames: [authMd5(this.salt)] };
    return { kind: 'send', frames: [authSasl(['SCRAM-SHA-256'])] };
  }

  /** A 'p' frame body (bytes after the 5-byte header). */
  onMessage(body: Buffer): AuthStep {
    const user = this.user;
    const method = this.method;
    if (method === 'password' || method === 'md5') {
      const given = body.toString('utf8', 0, Math.max(0, body.indexOf(0) >= 0 ? body.indexOf(0) : body.length));
      if (user === null || user.password === null) return { kind: 'fail' };
      const expected = method === 'password' ? user.password : md5Response(this.userName, user.password, this.salt);
      return safeEqual(given, expected) ? { kind: 'ok', frames: [] } : { kind: 'fail' };
    }
    // SCRAM-SHA-256
    if (this.stage === 0) {
      this.stage = 1;
      const mechEnd = body.indexOf(0);
      if (mechEnd < 0 || body.toString('utf8', 0, mechEnd) !== 'SCRAM-SHA-256' || body.length < mechEnd + 5) return { kind: 'fail' };
      const len = body.readInt32BE(mechEnd + 1);
      const clientFirst = body.toString('utf8', mechEnd + 5, mechEnd + 5 + Math.max(0, len));
      // Unknown users get a verifier for a random password so the exchange looks the same.
      this.scram = new ScramServer(user && user.password !== null ? secretFor(user) : scramSecret(randomBytes(16).toString('hex')));
      const serverFirst = this.scram.first(clientFirst);
      if (serverFirst === null) return { kind: 'fail' };
      return { kind: 'send', frames: [authSaslContinue(serverFirst)] };
    }
    if (this.stage === 1 && this.scram !== null) {
      this.stage = 2;
      const serverFinal = this.scram.final(body.toString('utf8'));
      if (serverFinal === null || user === null) return { kind: 'fail' };
      return { kind: 'ok', frames: [authSaslFinal(serverFinal)] };
    }
    return { kind: 'fail' };
  }
}

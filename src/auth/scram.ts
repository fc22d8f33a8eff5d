// SCRAM-SHA-256 (RFC 5802/7677) as PostgreSQL uses it, both roles: the server side for clients
// authenticating to Meridian, the client side for Meridian authenticating to nodes. No channel
// binding (Meridian offers only SCRAM-SHA-256, never -PLUS). Pure crypto, no IO; the only key
// derivation here is synchronous and meant for config load, never per login attempt.

import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';

export const hmac = (key: Buffer, data: string | Buffer): Buffer => createHmac('sha256', key).update(data).digest();
export const sha256 = (data: Buffer): Buffer => createHash('sha256').update(data).digest();
const xor = (a: Buffer, b: Buffer): Buffer => {
  const out = Buffer.allocUnsafe(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! ^ b[i]!;
  return out;
};

/** PostgreSQL's default (scram_iterations): what real and fake verifiers use. */
export const SCRAM_ITERATIONS = 4096;

export interface ScramSecret {
  salt: Buffer;
  iterations: number;
  storedKey: Buffer;
  serverKey: Buffer;
}

/** The keys derived from a salted password: what a SCRAM client needs besides the server's nonce. */
export interface ScramClientKeys {
  clientKey: Buffer;
  serverKey: Buffer;
}

/** Keys from SaltedPassword (the PBKDF2 output). */
export function keysFromSalted(salted: Buffer): ScramClientKeys {
  return { clientKey: hmac(salted, 'Client Key'), serverKey: hmac(salted, 'Server Key') };
}

/** Derives the verifier from a plaintext password, synchronously: for tests and tools only (logins use verifiers.ts, on the thread pool). SASLprep is skipped: ASCII passwords only are normalised identically. */
export function scramSecret(password: string, salt: Buffer = randomBytes(16), iterations = SCRAM_ITERATIONS): ScramSecret {
  const salted = pbkdf2Sync(password.normalize('NFKC'), salt, iterations, 32, 'sha256');
  const { clientKey, serverKey } = keysFromSalted(salted);
  return { salt, iterations, storedKey: sha256(clientKey), serverKey };
}

/** Upper bound on a stored secret's iteration count (PostgreSQL allows up to INT_MAX; nobody needs it). */
export const MAX_STORED_ITERATIONS = 10_000_000;
const B64 = /^[A-Za-z0-9+/]+={0,2}$/;
const b64 = (s: string): Buffer | null => (s.length > 0 && s.length <= 1024 && s.length % 4 === 0 && B64.test(s) ? Buffer.from(s, 'base64') : null);

/** True when the text has the shape of a stored SCRAM secret (then it is never used as a plaintext password). */
export function looksLikeStoredSecret(text: string): boolean {
  return text.startsWith('SCRAM-SHA-256$');
}

/**
 * Parses `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>` as pg_authid.rolpassword keeps
 * it; null for anything else (wrong shape, bad base64, keys not 32 bytes, absurd iteration count).
 */
export function parseStoredSecret(text: string): ScramSecret | null {
  if (text.length > 2048) return null;
  const m = /^SCRAM-SHA-256\$([0-9]{1,10}):([^$:]+)\$([^$:]+):([^$:]+)$/.exec(text);
  if (m === null) return null;
  const iterations = Number(m[1]);
  if (!Number.isSafeInteger(iterations) || iterations < 1 || iterations > MAX_STORED_ITERATIONS) return null;
  const salt = b64(m[2]!);
  const storedKey = b64(m[3]!);
  const serverKey = b64(m[4]!);
  if (salt === null || storedKey === null || serverKey === null || storedKey.length !== 32 || serverKey.length !== 32) return null;
  return { salt, iterations, storedKey, serverKey };
}

/** The text form of a secret (pg_authid's), e.g. to copy a derived one into a config. */
export function formatStoredSecret(s: ScramSecret): string {
  return `SCRAM-SHA-256$${s.iterations}:${s.salt.toString('base64')}$${s.storedKey.toString('base64')}:${s.serverKey.toString('base64')}`;
}

/**
 * The verifier an unknown user gets: salt = HMAC(mockKey, user name), so it is the same on every
 * attempt (and across restarts when the key is configured) and differs between names, like a real
 * user's. Its keys are random: no proof can match them, and nothing is derived.
 */
export function mockSecret(mockKey: Buffer, userName: string, iterations = SCRAM_ITERATIONS): ScramSecret {
  return { salt: configuredSalt(mockKey, userName), iterations, storedKey: randomBytes(32), serverKey: randomBytes(32) };
}

/** The salt a configured plaintext password gets: same derivation as mockSecret's, so the two look alike. */
export function configuredSalt(mockKey: Buffer, userName: string): Buffer {
  return hmac(mockKey, `salt\0${userName}`).subarray(0, 16);
}

function parseAttrs(msg: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of msg.split(',')) {
    const eq = part.indexOf('=');
    if (eq === 1) out.set(part[0]!, part.slice(2));
  }
  return out;
}

/** Longest client message accepted in an exchange (a real one is ~100 bytes). */
const MAX_SCRAM_MESSAGE = 4096;

/** A fresh nonce (or nonce part): 18 random bytes, base64. */
const randomNonce = (): string => randomBytes(18).toString('base64');

/** Server side of one SCRAM exchange. */
export class ScramServer {
  private readonly secret: ScramSecret;
  /** What the server adds to the client's nonce. */
  private readonly nonceSuffix: string;
  private clientFirstBare = '';
  private serverFirst = '';
  private nonce = '';
  /** Set by a successful final(): the client's ClientKey, what pass-through logs in to nodes with. */
  clientKey: Buffer | null = null;

  /** `nonceSuffix` is random unless given (a published example exchange fixes it). */
  constructor(secret: ScramSecret, nonceSuffix: string = randomNonce()) {
    this.secret = secret;
    this.nonceSuffix = nonceSuffix;
  }

  /** Handles client-first-message; returns server-first-message, or null when malformed. */
  first(clientFirst: string): string | null {
    if (clientFirst.length > MAX_SCRAM_MESSAGE) return null;
    // gs2 header: "n,," (no channel binding) or "y,,"; "p=" (binding required) is refused.
    if (!(clientFirst.startsWith('n,') || clientFirst.startsWith('y,'))) return null;
    const second = clientFirst.indexOf(',', 2);
    if (second < 0) return null;
    this.clientFirstBare = clientFirst.slice(second + 1);
    const clientNonce = parseAttrs(this.clientFirstBare).get('r');
    // printable ASCII except ',' (RFC 5802 nonce syntax)
    if (!clientNonce || !/^[\x21-\x2b\x2d-\x7e]+$/.test(clientNonce)) return null;
    this.nonce = clientNonce + this.nonceSuffix;
    this.serverFirst = `r=${this.nonce},s=${this.secret.salt.toString('base64')},i=${this.secret.iterations}`;
    return this.serverFirst;
  }

  /** Handles client-final-message; returns server-final-message, or null when the proof is wrong. */
  final(clientFinal: string): string | null {
    if (this.nonce === '' || clientFinal.length > MAX_SCRAM_MESSAGE) return null;
    const proofAt = clientFinal.lastIndexOf(',p=');
    if (proofAt < 0) return null;
    const withoutProof = clientFinal.slice(0, proofAt);
    const attrs = parseAttrs(clientFinal);
    if (attrs.get('r') !== this.nonce) return null;
    // channel binding data must echo the gs2 header without binding ("n,," or "y,,")
    const c = attrs.get('c');
    if (c !== 'biws' && c !== 'eSws') return null;
    const proof = Buffer.from(attrs.get('p') ?? '', 'base64');
    const authMessage = `${this.clientFirstBare},${this.serverFirst},${withoutProof}`;
    const clientSignature = hmac(this.secret.storedKey, authMessage);
    if (proof.length !== clientSignature.length) return null;
    const clientKey = xor(proof, clientSignature);
    if (!timingSafeEqual(sha256(clientKey), this.secret.storedKey)) return null;
    this.clientKey = clientKey;
    return `v=${hmac(this.secret.serverKey, authMessage).toString('base64')}`;
  }
}

/**
 * How Meridian proves itself to the node without a plaintext password: SCRAM pass-through (the
 * ClientKey recovered from a client's proof plus the stored secret's ServerKey; the node must hold
 * the same secret, same salt and iteration count) or an md5 hash as pg_authid keeps it.
 */
export type BackendSecret =
  { readonly kind: 'scram'; readonly secret: ScramSecret; readonly clientKey: Buffer } | { readonly kind: 'md5'; readonly hash: string };

/** What the node's server-first-message asks for. */
export interface ServerFirst {
  readonly nonce: string;
  readonly salt: Buffer;
  readonly iterations: number;
}

/** Client side of one SCRAM exchange (Meridian → node). The caller derives the keys (async). */
export class ScramClient {
  private readonly clientNonce: string;
  /** The SCRAM user name: PostgreSQL ignores it (the startup message names the user), so '*'. */
  private readonly userName: string;
  private clientFirstBare = '';
  private serverFirst = '';
  private parsed: ServerFirst | null = null;
  private expectedServerSignature = '';

  /** The nonce is random unless given (a published example exchange fixes it, and its user name, which must hold no ',' or '=': it is not escaped). */
  constructor(clientNonce: string = randomNonce(), userName = '*') {
    this.clientNonce = clientNonce;
    this.userName = userName;
  }

  first(): string {
    this.clientFirstBare = `n=${this.userName},r=${this.clientNonce}`;
    return `n,,${this.clientFirstBare}`;
  }

  /** Parses the server-first-message; null when malformed or its nonce does not extend ours. */
  parseServerFirst(serverFirst: string): ServerFirst | null {
    if (serverFirst.length > MAX_SCRAM_MESSAGE) return null;
    const attrs = parseAttrs(serverFirst);
    const nonce = attrs.get('r');
    const salt = b64(attrs.get('s') ?? '');
    const iterText = attrs.get('i') ?? '';
    const iterations = /^[0-9]{1,10}$/.test(iterText) ? Number(iterText) : NaN;
    if (!nonce || nonce.length <= this.clientNonce.length || !nonce.startsWith(this.clientNonce) || salt === null || !(iterations >= 1)) return null;
    this.serverFirst = serverFirst;
    this.parsed = { nonce, salt, iterations };
    return this.parsed;
  }

  /** The client-final-message, from keys for the salt and iterations parseServerFirst returned. */
  final(keys: ScramClientKeys): string {
    const withoutProof = `c=biws,r=${this.parsed!.nonce}`;
    const authMessage = `${this.clientFirstBare},${this.serverFirst},${withoutProof}`;
    const proof = xor(keys.clientKey, hmac(sha256(keys.clientKey), authMessage));
    this.expectedServerSignature = hmac(keys.serverKey, authMessage).toString('base64');
    return `${withoutProof},p=${proof.toString('base64')}`;
  }

  /** True when the server proved it knows the secret too. */
  verify(serverFinal: string): boolean {
    if (this.expectedServerSignature === '') return false;
    const v = Buffer.from(parseAttrs(serverFinal).get('v') ?? '');
    const want = Buffer.from(this.expectedServerSignature);
    return v.length === want.length && timingSafeEqual(v, want);
  }
}

/** PostgreSQL's md5 scheme: "md5" + md5(md5(password + user) + salt). */
export function md5Response(user: string, password: string, salt: Buffer): string {
  return md5FromHash(md5Hash(user, password), salt);
}

/** The hash pg_authid keeps for an md5 password: "md5" + md5(password + user). */
export function md5Hash(user: string, password: string): string {
  return (
    'md5' +
    createHash('md5')
      .update(password + user)
      .digest('hex')
  );
}

/** The md5 response from the stored hash ("md5…" as in pg_authid): what an md5 client sends. */
export function md5FromHash(storedHash: string, salt: Buffer): string {
  return (
    'md5' +
    createHash('md5')
      .update(Buffer.concat([Buffer.from(storedHash.slice(3)), salt]))
      .digest('hex')
  );
}

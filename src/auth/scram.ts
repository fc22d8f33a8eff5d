// SCRAM-SHA-256 (RFC 5802/7677) as PostgreSQL uses it, both roles: the server side for clients
// authenticating to Meridian, the client side for Meridian authenticating to nodes. No channel
// binding (Meridian offers only SCRAM-SHA-256, never -PLUS). Pure crypto, no IO.

import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';

const hmac = (key: Buffer, data: string | Buffer): Buffer => createHmac('sha256', key).update(data).digest();
const sha256 = (data: Buffer): Buffer => createHash('sha256').update(data).digest();
const xor = (a: Buffer, b: Buffer): Buffer => {
  const out = Buffer.allocUnsafe(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! ^ b[i]!;
  return out;
};

export interface ScramSecret {
  salt: Buffer;
  iterations: number;
  storedKey: Buffer;
  serverKey: Buffer;
}

/** Derives the verifier from a plaintext password (SASLprep is skipped: ASCII passwords only are normalised identically). */
export function scramSecret(password: string, salt: Buffer = randomBytes(16), iterations = 4096): ScramSecret {
  const salted = pbkdf2Sync(password.normalize('NFKC'), salt, iterations, 32, 'sha256');
  const clientKey = hmac(salted, 'Client Key');
  return { salt, iterations, storedKey: sha256(clientKey), serverKey: hmac(salted, 'Server Key') };
}

function parseAttrs(msg: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of msg.split(',')) {
    const eq = part.indexOf('=');
    if (eq === 1) out.set(part[0]!, part.slice(2));
  }
  return out;
}

/** Server side of one SCRAM exchange. */
export class ScramServer {
  private readonly secret: ScramSecret;
  private clientFirstBare = '';
  private serverFirst = '';
  private nonce = '';

  constructor(secret: ScramSecret) {
    this.secret = secret;
  }

  /** Handles client-first-message; returns server-first-message, or null when malformed. */
  first(clientFirst: string): string | null {
    // gs2 header: "n,," (no channel binding) or "y,,"; "p=" (binding required) is refused.
    if (!(clientFirst.startsWith('n,') || clientFirst.startsWith('y,'))) return null;
    const second = clientFirst.indexOf(',', 2);
    if (second < 0) return null;
    this.clientFirstBare = clientFirst.slice(second + 1);
    const clientNonce = parseAttrs(this.clientFirstBare).get('r');
    if (!clientNonce) return null;
    this.nonce = clientNonce + randomBytes(18).toString('base64');
    this.serverFirst = `r=${this.nonce},s=${this.secret.salt.toString('base64')},i=${this.secret.iterations}`;
    return this.serverFirst;
  }

  /** Handles client-final-message; returns server-final-message, or null when the proof is wrong. */
  final(clientFinal: string): string | null {
    const proofAt = clientFinal.lastIndexOf(',p=');
    if (proofAt < 0) return null;
    const withoutProof = clientFinal.slice(0, proofAt);
    const attrs = parseAttrs(clientFinal);
    if (attrs.get('r') !== this.nonce) return null;
    const proof = Buffer.from(attrs.get('p') ?? '', 'base64');
    const authMessage = `${this.clientFirstBare},${this.serverFirst},${withoutProof}`;
    const clientSignature = hmac(this.secret.storedKey, authMessage);
    if (proof.length !== clientSignature.length) return null;
    const clientKey = xor(proof, clientSignature);
    if (!timingSafeEqual(sha256(clientKey), this.secret.storedKey)) return null;
    return `v=${hmac(this.secret.serverKey, authMessage).toString('base64')}`;
  }
}

/** Client side of one SCRAM exchange (Meridian → node). */
export class ScramClient {
  private readonly password: string;
  private readonly clientNonce = randomBytes(18).toString('base64');
  private clientFirstBare = '';
  private expectedServerSignature = '';

  constructor(password: string) {
    this.password = password;
  }

  first(): string {
    this.clientFirstBare = `n=*,r=${this.clientNonce}`;
    return `n,,${this.clientFirstBare}`;
  }

  /** Returns the client-final-message, or throws on a malformed/unsafe server message. */
  final(serverFirst: string): string {
    const attrs = parseAttrs(serverFirst);
    const nonce = attrs.get('r');
    const salt = attrs.get('s');
    const iterations = Number(attrs.get('i'));
    if (!nonce || !nonce.startsWith(this.clientNonce) || !salt || !Number.isInteger(iterations) || iterations < 1) {
      throw new Error('invalid SCRAM server-first-message');
    }
    const salted = pbkdf2Sync(this.password.normalize('NFKC'), Buffer.from(salt, 'base64'), iterations, 32, 'sha256');
    const clientKey = hmac(salted, 'Client Key');
    const withoutProof = `c=biws,r=${nonce}`;
    const authMessage = `${this.clientFirstBare},${serverFirst},${withoutProof}`;
    const proof = xor(clientKey, hmac(sha256(clientKey), authMessage));
    this.expectedServerSignature = hmac(hmac(salted, 'Server Key'), authMessage).toString('base64');
    return `${withoutProof},p=${proof.toString('base64')}`;
  }

  /** True when the server proved it knows the password too. */
  verify(serverFinal: string): boolean {
    return parseAttrs(serverFinal).get('v') === this.expectedServerSignature;
  }
}

/** PostgreSQL's md5 scheme: "md5" + md5(md5(password + user) + salt). */
export function md5Response(user: string, password: string, salt: Buffer): string {
  const inner = createHash('md5').update(password + user).digest('hex');
  return 'md5' + createHash('md5').update(Buffer.concat([Buffer.from(inner), salt])).digest('hex');
}

// The SCRAM verifiers client logins are checked against, per config snapshot: configured
// plaintext passwords are derived once, on the thread pool (crypto.pbkdf2), all users at once on
// the first login after a (re)load; stored secrets (config or auth.query) are parsed. Salts come
// from the mock key (auth.mock_key, else random per process), the same way an unknown user's
// fake salt does, so neither reveals which is which. No derivation ever runs on the event loop.

import { createHash, pbkdf2, randomBytes } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { MeridianConfig } from '../config/types.js';
import { SCRAM_ITERATIONS, configuredSalt, keysFromSalted, looksLikeStoredSecret, parseStoredSecret, sha256, type ScramSecret } from './scram.js';

const processKey = randomBytes(32);
const MAX_VERIFIERS = 10_000;

/** The key fake salts (and configured users' salts) derive from. */
export function mockKeyOf(cfg: MeridianConfig): Buffer {
  const s = cfg.auth.mockKey;
  return s === null ? processKey : createHash('sha256').update('meridian mock key\0').update(s).digest();
}

const byConfig = new WeakMap<MeridianConfig, LRUCache<string, Promise<ScramSecret | null>>>();
/** Settled verifiers, so a login can use one without waiting a tick. */
const settled = new WeakMap<Promise<ScramSecret | null>, ScramSecret | null>();

function derive(password: string, salt: Buffer): Promise<ScramSecret> {
  return new Promise((resolve, reject) => {
    pbkdf2(password.normalize('NFKC'), salt, SCRAM_ITERATIONS, 32, 'sha256', (err, salted) => {
      if (err) return reject(err);
      const { clientKey, serverKey } = keysFromSalted(salted);
      resolve({ salt, iterations: SCRAM_ITERATIONS, storedKey: sha256(clientKey), serverKey });
    });
  });
}

function cacheOf(cfg: MeridianConfig): LRUCache<string, Promise<ScramSecret | null>> {
  let cache = byConfig.get(cfg);
  if (cache === undefined) {
    cache = new LRUCache({ max: MAX_VERIFIERS });
    byConfig.set(cfg, cache);
  }
  return cache;
}

function load(cfg: MeridianConfig, cache: LRUCache<string, Promise<ScramSecret | null>>, user: string, text: string): Promise<ScramSecret | null> {
  const key = `${user}\0${text}`;
  let v = cache.get(key);
  if (v === undefined) {
    const p: Promise<ScramSecret | null> = looksLikeStoredSecret(text)
      ? Promise.resolve(parseStoredSecret(text))
      : derive(text, configuredSalt(mockKeyOf(cfg), user)).catch(() => null);
    if (looksLikeStoredSecret(text)) settled.set(p, parseStoredSecret(text));
    else void p.then((s) => settled.set(p, s));
    cache.set(key, (v = p));
  }
  return v;
}

/** Derives every configured SCRAM user's verifier in the background (the first login does this too). */
export function prepareVerifiers(cfg: MeridianConfig): void {
  const cache = cacheOf(cfg);
  for (const u of cfg.users) {
    if (u.auth === 'scram-sha-256' && u.password !== null) void load(cfg, cache, u.name, u.password);
  }
}

/** The verifier if it is ready: undefined while (or before) it derives; null for an unusable secret. */
export function cachedVerifier(cfg: MeridianConfig, user: string, text: string): ScramSecret | null | undefined {
  const p = byConfig.get(cfg)?.get(`${user}\0${text}`);
  return p === undefined ? undefined : settled.get(p);
}

/** The verifier for a user's password or stored secret (null: an unusable stored secret). */
export function verifierFor(cfg: MeridianConfig, user: string, text: string): Promise<ScramSecret | null> {
  if (!byConfig.has(cfg)) prepareVerifiers(cfg);
  return load(cfg, cacheOf(cfg), user, text);
}

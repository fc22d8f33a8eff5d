// Client-side SCRAM key derivation for logins to nodes: PBKDF2 runs on the thread pool
// (crypto.pbkdf2), never on the event loop, and its result is cached per (password, salt,
// iterations) so a pool opening many backends derives once. Single-flight: concurrent logins
// with the same inputs share one derivation.

import { createHash, pbkdf2 } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { keysFromSalted, type ScramClientKeys } from './scram.js';

/** A node may not ask for more than this (libpq has no cap; 4096 is PostgreSQL's default). */
export const MAX_SERVER_ITERATIONS = 100_000;

const cache = new LRUCache<string, Promise<ScramClientKeys>>({ max: 256 });

/** The cache key never holds the password itself. */
const cacheKey = (password: string, salt: Buffer, iterations: number): string =>
  createHash('sha256').update(password).update('\0').update(salt).update('\0').update(String(iterations)).digest('base64');

/** ClientKey/ServerKey for a password, salt and iteration count (cached; rejected promises are dropped). */
export function deriveClientKeys(password: string, salt: Buffer, iterations: number): Promise<ScramClientKeys> {
  const key = cacheKey(password, salt, iterations);
  const hit = cache.get(key);
  if (hit !== undefined) return hit;
  const p = new Promise<ScramClientKeys>((resolve, reject) => {
    pbkdf2(password.normalize('NFKC'), salt, iterations, 32, 'sha256', (err, salted) => (err ? reject(err) : resolve(keysFromSalted(salted))));
  });
  cache.set(key, p);
  p.catch(() => cache.delete(key));
  return p;
}

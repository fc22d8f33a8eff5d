// auth.query's bounds (issue 14): answers cached (found for cache_ttl, "no such user" briefly,
// errors not at all), one query per name at a time, at most max_lookups at once, next node on error.
import { describe, expect, it } from 'vitest';
import { AuthQuery, type LookupResult } from '../../../src/auth/auth-query.js';
import type { AuthQueryConfig, NodeConfig } from '../../../src/config/types.js';

const node = (name: string): NodeConfig => ({ name, host: '127.0.0.1', port: 1, region: 'r', location: null, priority: 0 });
const CFG: AuthQueryConfig = { query: 'select $1', user: 'auth', password: null, database: 'postgres', cacheTtlMs: 60_000, maxConcurrent: 2 };

function setup(answer: (node: string, user: string) => Promise<LookupResult>, nodes = [node('a'), node('b')]) {
  const calls: string[] = [];
  const errors: string[] = [];
  const clock = { ms: 0 };
  const q = new AuthQuery({
    nowMs: () => clock.ms,
    nodes: () => nodes,
    tls: () => ({ mode: 'disable', ca: null }),
    connectTimeoutMs: () => 1000,
    onError: (n) => errors.push(n),
    queryNode: (_cfg, n, user) => {
      calls.push(`${n.name}:${user}`);
      return answer(n.name, user);
    },
  });
  return { q, calls, errors, clock };
}

describe('auth.query lookups', () => {
  it('caches a found secret for cache_ttl and "no such user" for at most 5 s', async () => {
    const { q, calls, clock } = setup(async (_n, u) => (u === 'x' ? { kind: 'found', secret: 's' } : { kind: 'absent' }));
    expect(await q.lookup(CFG, 'x')).toEqual({ kind: 'found', secret: 's' });
    expect(await q.lookup(CFG, 'x')).toEqual({ kind: 'found', secret: 's' });
    expect(await q.lookup(CFG, 'ghost')).toEqual({ kind: 'absent' });
    expect(await q.lookup(CFG, 'ghost')).toEqual({ kind: 'absent' });
    expect(calls).toEqual(['a:x', 'a:ghost']);
    clock.ms += 5_001;
    await q.lookup(CFG, 'ghost');
    await q.lookup(CFG, 'x');
    expect(calls).toEqual(['a:x', 'a:ghost', 'a:ghost']);
    clock.ms += 60_000;
    await q.lookup(CFG, 'x');
    expect(calls).toEqual(['a:x', 'a:ghost', 'a:ghost', 'a:x']);
  });

  it('runs one query per name at a time and at most max_lookups at once; the rest fail as busy', async () => {
    const pending: Array<() => void> = [];
    const { q, calls } = setup((_n, u) => (u === 'c' ? Promise.resolve({ kind: 'absent' }) : new Promise((r) => pending.push(() => r({ kind: 'absent' })))));
    const a1 = q.lookup(CFG, 'a');
    const a2 = q.lookup(CFG, 'a');
    const b = q.lookup(CFG, 'b');
    expect(await q.lookup(CFG, 'c')).toEqual({ kind: 'error', reason: 'busy' });
    expect(calls).toEqual(['a:a', 'a:b']);
    for (const p of pending) p();
    expect(await a1).toEqual({ kind: 'absent' });
    expect(await a2).toEqual({ kind: 'absent' });
    expect(await b).toEqual({ kind: 'absent' });
    expect(await q.lookup(CFG, 'c')).toEqual({ kind: 'absent' }); // room again
  });

  it('tries the next node when one fails, reports failure when all do, and does not cache errors', async () => {
    let isADown = true;
    const { q, calls, errors } = setup(async (n) => {
      if (n === 'a' && isADown) throw new Error('down');
      if (n === 'b') throw new Error('down too');
      return { kind: 'found', secret: 's' };
    });
    expect(await q.lookup(CFG, 'x')).toEqual({ kind: 'error', reason: 'failed' });
    expect(errors).toEqual(['a', 'b']);
    isADown = false;
    expect(await q.lookup(CFG, 'x')).toEqual({ kind: 'found', secret: 's' });
    expect(calls).toEqual(['a:x', 'b:x', 'a:x']);
  });

  it('with no node up it fails without querying', async () => {
    const { q, calls } = setup(async () => ({ kind: 'absent' }), []);
    expect(await q.lookup(CFG, 'x')).toEqual({ kind: 'error', reason: 'no-node' });
    expect(calls).toEqual([]);
  });
});

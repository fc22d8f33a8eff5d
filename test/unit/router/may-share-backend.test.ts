// mayShareBackend: whether a request pipelined behind one in flight may go to the backend already
// attached, decided by the router with the same node checks as routing (issue 16, bug 3: a write
// could share a backend on a split-brain loser; route=replica one on a down or draining master).

import { describe, expect, it } from 'vitest';
import { mayShareBackend } from '../../../src/router/may-share-backend.js';
import { route } from '../../../src/router/route.js';
import { node, policy, ctx, idle, snap, WRITE } from './fixtures.js';
import type { NodeSnapshot } from '../../../src/topology/types.js';

const MASTER = { route: 'master' } as const;
const REPLICA = { route: 'replica' } as const;

describe('mayShareBackend', () => {
  it('a write never shares a backend on a split-brain loser', () => {
    const loser = node('b', { isSplitBrain: true });
    expect(mayShareBackend(loser, 'b', true, null, null)).toBe(false);
    expect(mayShareBackend(loser, 'b', false, MASTER, null)).toBe(false);
    expect(mayShareBackend(node('a'), 'a', true, null, null)).toBe(true);
  });

  it('route=replica never shares a backend on a master, up or not, active or not', () => {
    for (const over of [{}, { isUp: false }, { state: 'draining' as const }, { state: 'drained' as const }]) {
      expect(mayShareBackend(node('m', over), 'm', false, REPLICA, null)).toBe(false);
    }
    expect(mayShareBackend(node('r', { role: 'replica' }), 'r', false, REPLICA, null)).toBe(true);
    expect(mayShareBackend(node('r', { role: 'replica', isUp: false }), 'r', false, REPLICA, null)).toBe(false);
    expect(mayShareBackend(node('r', { role: 'replica', state: 'draining' }), 'r', false, REPLICA, null)).toBe(false);
    expect(mayShareBackend(node('r', { role: 'unknown' }), 'r', false, REPLICA, null)).toBe(false);
  });

  it('a write needs a master that is up, active and inside the residency', () => {
    expect(mayShareBackend(node('r', { role: 'replica' }), 'r', true, null, null)).toBe(false);
    expect(mayShareBackend(node('m', { isUp: false }), 'm', true, null, null)).toBe(false);
    expect(mayShareBackend(node('m', { state: 'draining' }), 'm', true, null, null)).toBe(false);
    expect(mayShareBackend(node('m', { region: 'eu' }), 'm', true, null, new Set(['us']))).toBe(false);
    expect(mayShareBackend(node('m', { region: 'us' }), 'm', true, null, new Set(['us']))).toBe(true);
  });

  it('node=NAME shares only that node; a plain read shares whatever serves the request in flight', () => {
    expect(mayShareBackend(node('a'), 'a', true, { node: 'a' }, null)).toBe(true);
    expect(mayShareBackend(node('a'), 'a', false, { node: 'b' }, null)).toBe(false);
    expect(mayShareBackend(node('r', { role: 'replica', lagMs: 999_999 }), 'r', false, null, null)).toBe(true);
    expect(mayShareBackend(undefined, 'gone', false, null, null)).toBe(true);
    expect(mayShareBackend(undefined, 'gone', true, null, null)).toBe(false);
  });

  it('a write shares a backend exactly when routing could send the write to that node', () => {
    const variants: Partial<NodeSnapshot>[] = [
      {},
      { isSplitBrain: true },
      { isUp: false },
      { state: 'draining' },
      { state: 'catching-up' },
      { role: 'replica' },
      { role: 'unknown' },
    ];
    for (const over of variants) {
      const n = node('only', over);
      const d = route(WRITE, snap(n), ctx(), policy({ kind: 'physical' }), idle);
      expect(mayShareBackend(n, 'only', true, null, null), JSON.stringify(over)).toBe(d.ok && d.node === 'only');
    }
  });
});

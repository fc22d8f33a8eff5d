// Read-your-writes in the pure router: after a session's write, its unhinted reads go only to
// nodes whose watermark passed the write (or to the node that took it), and the mark is dropped
// only once every node has it.
import { describe, expect, it } from 'vitest';
import { route } from '../../../src/router/route.js';
import { hasSeenWrite, isWriteSeenEverywhere } from '../../../src/router/pick-read.js';
import type { RouteRequest, WriteMark } from '../../../src/router/types.js';
import { ctx, idle, node, policy, snap } from './fixtures.js';

const physical = policy({ kind: 'physical', readsOnMasters: 'fallback' });
const mark: WriteMark = { node: 'p', atMs: 1_000 };
const readAfter = (after: WriteMark | null): RouteRequest => ({ intent: 'read', hint: null, after });
const seen = (t: number) => new Map([['p', t]]);

describe('read-your-writes routing', () => {
  it('a standby that has not replayed the write is skipped; the primary serves the read', () => {
    const s = snap(node('p'), node('r1', { role: 'replica', seenWrites: seen(999) }));
    const d = route(readAfter(mark), s, ctx(), physical, idle);
    expect(d).toMatchObject({ ok: true, node: 'p' });
    expect(d.ok && d.reason).toMatch(/read-your-writes/);
    // Without a mark the same read goes to the standby.
    expect(route(readAfter(null), s, ctx(), physical, idle)).toMatchObject({ ok: true, node: 'r1' });
  });

  it('a standby whose watermark passed the write serves it, and the lagging one is skipped', () => {
    const s = snap(node('p'), node('r1', { role: 'replica', seenWrites: seen(500) }), node('r2', { role: 'replica', seenWrites: seen(1_001) }));
    for (let i = 0; i < 5; i++) expect(route(readAfter(mark), s, ctx(), physical, idle)).toMatchObject({ ok: true, node: 'r2', reason: 'lowest lag' });
  });

  it('a watermark taken in the same millisecond as the write does not count', () => {
    expect(hasSeenWrite(node('r', { seenWrites: seen(1_000) }), mark)).toBe(false);
    expect(hasSeenWrite(node('r', { seenWrites: seen(1_000.3) }), mark)).toBe(false);
    expect(hasSeenWrite(node('r', { seenWrites: seen(1_000.9999) }), mark)).toBe(true); // timestamptz float noise on 1001
    expect(hasSeenWrite(node('r', { seenWrites: null }), mark)).toBe(false);
    expect(hasSeenWrite(node('p'), mark)).toBe(true); // the node that took it
  });

  it('a remote_apply synchronous standby of the writer has the write at once, unless the session lowered synchronous_commit', () => {
    const synced = node('r1', { role: 'replica', seenWrites: seen(500), syncAppliedFrom: 'p' });
    const s = snap(node('p'), synced);
    const syncMark: WriteMark = { node: 'p', atMs: 1_000, isSyncApplied: true };
    expect(hasSeenWrite(synced, syncMark)).toBe(true);
    expect(route(readAfter(syncMark), s, ctx(), physical, idle)).toMatchObject({ ok: true, node: 'r1' });
    // The session set synchronous_commit = on/local/off: its watermark decides, as for any standby.
    expect(hasSeenWrite(synced, { ...syncMark, isSyncApplied: false })).toBe(false);
    expect(route(readAfter({ ...syncMark, isSyncApplied: false }), s, ctx(), physical, idle)).toMatchObject({ ok: true, node: 'p' });
    // A causal token carries no such promise; nor does a standby synchronous to another primary.
    expect(hasSeenWrite(synced, { node: 'p', atMs: 1_000, isCausal: true })).toBe(false);
    expect(hasSeenWrite(node('r2', { syncAppliedFrom: 'q' }), syncMark)).toBe(false);
    expect(isWriteSeenEverywhere(s, syncMark)).toBe(true);
  });

  it('reads_on_masters: never still sends the read to the node that took the write', () => {
    const s = snap(node('p'), node('r1', { role: 'replica', seenWrites: null }));
    expect(route(readAfter(mark), s, ctx(), policy({ kind: 'physical', readsOnMasters: 'never' }), idle)).toMatchObject({ ok: true, node: 'p' });
  });

  it("active-active: a master without the other master's write is skipped even with the lowest lag", () => {
    const aa = policy({ kind: 'pglogical', readsOnMasters: 'always' });
    const m2: WriteMark = { node: 'a', atMs: 1_000 };
    const s = snap(
      node('a', { lagMs: 300 }),
      node('b', { lagMs: 0, seenWrites: new Map([['a', 900]]) }),
      node('c', { lagMs: 50, seenWrites: new Map([['a', 1_200]]) }),
    );
    expect(route(readAfter(m2), s, ctx(), aa, idle)).toMatchObject({ ok: true, node: 'c' });
    expect(route(readAfter(null), s, ctx(), aa, idle)).toMatchObject({ ok: true, node: 'b' });
  });

  it('active-active: the master that took the write serves while its lag is unknown, not while it is over max_read_lag', () => {
    const aa = policy({ kind: 'pglogical', readsOnMasters: 'always', maxReadLagMs: 5_000 });
    const m2: WriteMark = { node: 'a', atMs: 1_000 };
    const other = node('b', { lagMs: 0, seenWrites: new Map([['a', 900]]) });
    expect(route(readAfter(m2), snap(node('a', { lagMs: null }), other), ctx(), aa, idle)).toMatchObject({
      ok: true,
      node: 'a',
      reason: expect.stringMatching(/read-your-writes/),
    });
    expect(route(readAfter(m2), snap(node('a', { lagMs: 6_000 }), other), ctx(), aa, idle)).toMatchObject({ ok: true, node: 'b' });
  });

  it('the guarantee lapses when the node that took the write cannot serve: a plain read follows', () => {
    const s = snap(node('p', { isUp: false }), node('p2'), node('r1', { role: 'replica', seenWrites: null }));
    expect(route(readAfter(mark), s, ctx(), physical, idle)).toMatchObject({ ok: true, node: 'r1', reason: 'lowest lag' });
  });

  it('residency still applies: the writer outside the allowed regions is never chosen', () => {
    const s = snap(node('p', { region: 'us' }), node('r1', { role: 'replica', region: 'eu', seenWrites: null }));
    const d = route(readAfter(mark), s, ctx({ allowedRegions: new Set(['eu']) }), physical, idle);
    expect(d).toMatchObject({ ok: true, node: 'r1' });
  });

  it('hints win: route=replica and node=NAME ignore the mark, route=master is a write anyway', () => {
    const s = snap(node('p'), node('r1', { role: 'replica', seenWrites: null }));
    expect(route({ intent: 'read', hint: { route: 'replica' }, after: mark }, s, ctx(), physical, idle)).toMatchObject({ node: 'r1' });
    expect(route({ intent: 'read', hint: { node: 'r1' }, after: mark }, s, ctx(), physical, idle)).toMatchObject({ node: 'r1' });
    expect(route({ intent: 'read', hint: null, after: mark }, s, ctx({ sessionHint: { route: 'replica' } }), physical, idle)).toMatchObject({ node: 'r1' });
  });

  it('the mark is needed until every configured node has the write', () => {
    const part = snap(node('p'), node('r1', { role: 'replica', seenWrites: seen(2_000) }), node('r2', { role: 'replica', isUp: false, seenWrites: seen(10) }));
    expect(isWriteSeenEverywhere(part, mark)).toBe(false);
    const all = snap(node('p'), node('r1', { role: 'replica', seenWrites: seen(2_000) }), node('r2', { role: 'replica', seenWrites: seen(1_500) }));
    expect(isWriteSeenEverywhere(all, mark)).toBe(true);
  });
});

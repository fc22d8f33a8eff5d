// Issue 14, finding 17: on a multi-master cluster whose lag is unknown on every node (a heartbeat
// table that does not replicate), reads follow writes (the nearest master) instead of failing,
// without weakening read-your-writes, residency or a known max_read_lag.
import { describe, expect, it } from 'vitest';
import { route } from '../../../src/router/route.js';
import { isLagUnknownEverywhere } from '../../../src/router/pick-read.js';
import { READ_FOLLOWS_WRITES_PHRASE } from '../../../src/router/route-index.js';
import { ctx, idle, node, policy, READ, req, snap } from './fixtures.js';

const unknown = { lagMs: null, lagBytes: null };

describe('route: lag unknown on every node of a multi-master cluster', () => {
  it('a read goes to the nearest master (where writes go) instead of "no node eligible for reads"', () => {
    const s = snap(node('far', { ...unknown, rttMs: 90 }), node('near', { ...unknown, rttMs: 2 }), node('mid', { ...unknown, rttMs: 40 }));
    for (const kind of ['pglogical', 'spock', 'heartbeat'] as const) {
      const d = route(READ, s, ctx(), policy({ kind }), idle);
      expect(d).toEqual({ ok: true, node: 'near', reason: READ_FOLLOWS_WRITES_PHRASE });
      expect(route({ intent: 'write', hint: null }, s, ctx(), policy({ kind }), idle)).toMatchObject({ node: 'near' });
    }
  });

  it('route=replica hints follow writes too; node=NAME is unchanged', () => {
    const s = snap(node('a', { ...unknown, rttMs: 9 }), node('b', { ...unknown, rttMs: 1 }));
    expect(route(req('read', { route: 'replica' }), s, ctx(), policy(), idle)).toMatchObject({ ok: true, node: 'b' });
    expect(route(req('read', { node: 'a' }), s, ctx(), policy(), idle)).toMatchObject({ ok: true, node: 'a' });
  });

  it('residency holds: only allowed masters, and a refusal when none is healthy', () => {
    const s = snap(node('us', { ...unknown, region: 'us-east', rttMs: 1 }), node('eu', { ...unknown, region: 'eu-west', rttMs: 80 }));
    const eu = ctx({ allowedRegions: new Set(['eu-west']), residencyRule: 'eu' });
    expect(route(READ, s, eu, policy(), idle)).toMatchObject({ ok: true, node: 'eu', reason: READ_FOLLOWS_WRITES_PHRASE });
    const s2 = snap(node('us', { ...unknown, region: 'us-east' }), node('eu', { ...unknown, region: 'eu-west', isUp: false }));
    expect(route(READ, s2, eu, policy(), idle)).toMatchObject({ ok: false });
  });

  it('read-your-writes: the node that took the write still serves the read', () => {
    const s = snap(node('writer', { ...unknown, rttMs: 50 }), node('near', { ...unknown, rttMs: 1 }));
    expect(route({ intent: 'read', hint: null, after: { node: 'writer', atMs: 1 } }, s, ctx(), policy(), idle)).toMatchObject({ ok: true, node: 'writer' });
  });

  it('one node with a known lag keeps the ordinary rules (a lag over max_read_lag is never bypassed)', () => {
    const over = snap(node('a', { lagMs: 9000 }), node('b', unknown));
    expect(route(READ, over, ctx(), policy(), idle)).toMatchObject({ ok: false, refusal: 'no-read-node' });
    const known = snap(node('a', { lagMs: 100, rttMs: 90 }), node('b', { ...unknown, rttMs: 1 }));
    expect(route(READ, known, ctx(), policy(), idle)).toMatchObject({ ok: true, node: 'a' });
  });

  it('not for physical or logical clusters, nor with reads_on_masters: never', () => {
    const s = snap(node('p', { ...unknown }), node('s', { ...unknown, role: 'replica' }));
    expect(route(READ, s, ctx(), policy({ kind: 'physical', readsOnMasters: 'fallback' }), idle)).toMatchObject({ ok: false });
    expect(route(READ, s, ctx(), policy({ kind: 'logical' }), idle)).toMatchObject({ ok: false });
    expect(route(READ, snap(node('m', unknown)), ctx(), policy({ readsOnMasters: 'never' }), idle)).toMatchObject({ ok: false });
  });

  it('down, draining and unprobed nodes neither count nor serve', () => {
    const s = snap(
      node('down', { isUp: false, lagMs: 0 }),
      node('new', { role: 'unknown', ...unknown }),
      node('drain', { state: 'draining', lagMs: 0 }),
      node('m', unknown),
    );
    expect(isLagUnknownEverywhere(s, policy())).toBe(true);
    expect(route(READ, s, ctx(), policy(), idle)).toMatchObject({ ok: true, node: 'm' });
    expect(isLagUnknownEverywhere(snap(node('down', { isUp: false, ...unknown })), policy())).toBe(false);
  });
});

import { describe, expect, it } from 'vitest';
import { route } from '../../../src/router/route.js';
import { busy, ctx, idle, node, policy, READ, snap } from './fixtures.js';

const physical = policy({ kind: 'physical', readsOnMasters: 'fallback' });

describe('route: reads go to the lowest-lag eligible node', () => {
  it('picks the lowest lag, not the nearest', () => {
    const s = snap(node('near', { lagMs: 900, rttMs: 1 }), node('fresh', { lagMs: 0, rttMs: 50 }));
    expect(route(READ, s, ctx(), policy(), idle)).toMatchObject({ ok: true, node: 'fresh' });
  });

  it('never picks a node whose lag is unknown, even a lag-0-looking nearer one', () => {
    const s = snap(node('unknown', { lagMs: null, rttMs: 1 }), node('known', { lagMs: 2000, rttMs: 90 }));
    expect(route(READ, s, ctx(), policy(), idle)).toMatchObject({ node: 'known' });
  });

  it('excludes nodes over max_read_lag and refuses when none is left', () => {
    const s = snap(node('a', { lagMs: 6000 }), node('b', { lagMs: null }));
    expect(route(READ, s, ctx(), policy(), idle)).toEqual({
      ok: false,
      refusal: 'no-read-node',
      reason: 'no node eligible for reads: a lag 6000 ms exceeds max_read_lag 5000 ms, b lag unknown',
    });
  });

  it('nodes within lag_tolerance of the best are equal; the nearest wins', () => {
    const s = snap(node('best-lag', { lagMs: 0, rttMs: 80 }), node('near', { lagMs: 90, rttMs: 2 }), node('laggy', { lagMs: 150, rttMs: 1 }));
    expect(route(READ, s, ctx(), policy(), idle)).toMatchObject({ node: 'near' });
  });

  it('equally near nodes: the fewest active backends wins, then the least recently routed, then config order', () => {
    const s = snap(node('a', { rttMs: 1 }), node('b', { rttMs: 1.5 }), node('c', { rttMs: 1.2 }));
    expect(route(READ, s, ctx(), policy(), busy({ a: 5, b: 2, c: 3 }))).toMatchObject({ node: 'b' });
    expect(route(READ, s, ctx(), policy(), busy({ a: 1, b: 1, c: 1 }))).toMatchObject({ node: 'a' });
    const seq = (n: string) => ({ a: 7, b: 3, c: 5 })[n] ?? 0;
    expect(route(READ, s, ctx(), policy(), busy({ a: 1, b: 1, c: 1 }), seq)).toMatchObject({ node: 'b' });
    expect(route(READ, s, ctx(), policy(), busy({ a: 1, b: 2, c: 1 }), seq)).toMatchObject({ node: 'c' });
  });

  it('skips down, draining, drained, catching-up and split-brain nodes', () => {
    const s = snap(
      node('down', { isUp: false }),
      node('draining', { state: 'draining' }),
      node('drained', { state: 'drained' }),
      node('catching', { state: 'catching-up' }),
      node('split', { isSplitBrain: true }),
      node('ok', { lagMs: 4000, rttMs: 99 }),
    );
    expect(route(READ, s, ctx(), policy(), idle)).toMatchObject({ node: 'ok' });
  });

  it('reads_on_masters=fallback (physical): replicas first', () => {
    const s = snap(node('primary', { lagMs: 0, rttMs: 1 }), node('s1', { role: 'replica', lagMs: 400, rttMs: 5 }));
    expect(route(READ, s, ctx(), physical, idle)).toMatchObject({ ok: true, node: 's1' });
  });

  it('reads_on_masters=fallback: the primary serves reads when every standby exceeds max_read_lag', () => {
    const s = snap(node('primary', { lagMs: 0 }), node('s1', { role: 'replica', lagMs: 9000 }), node('s2', { role: 'replica', lagMs: null }));
    const d = route(READ, s, ctx(), physical, idle);
    expect(d).toMatchObject({ ok: true, node: 'primary' });
    expect(d.reason).toContain('no replica eligible');
  });

  it('reads_on_masters=never: refuses rather than reading from a master', () => {
    const s = snap(node('primary'), node('s1', { role: 'replica', isUp: false, failedProbes: 3 }));
    expect(route(READ, s, ctx(), policy({ readsOnMasters: 'never' }), idle)).toEqual({
      ok: false,
      refusal: 'no-read-node',
      reason: 'no node eligible for reads: primary is a master (reads_on_masters: never), s1 down (3 failed probes)',
    });
  });

  it('reads_on_masters=always: masters and replicas compete on lag', () => {
    const s = snap(node('primary', { lagMs: 0, rttMs: 1 }), node('s1', { role: 'replica', lagMs: 800, rttMs: 1 }));
    expect(route(READ, s, ctx(), policy({ readsOnMasters: 'always' }), idle)).toMatchObject({ node: 'primary' });
  });

  it('residency restricts reads and refuses with "residency" when only foreign nodes qualify', () => {
    const s = snap(node('us', { region: 'us-east' }), node('eu', { region: 'eu-west', lagMs: 3000 }));
    const c = ctx({ allowedRegions: new Set(['eu-west']), residencyRule: 'eu' });
    expect(route(READ, s, c, policy(), idle)).toMatchObject({ ok: true, node: 'eu' });
    const s2 = snap(node('us', { region: 'us-east' }), node('eu', { region: 'eu-west', lagMs: null }));
    expect(route(READ, s2, c, policy(), idle)).toEqual({
      ok: false,
      refusal: 'residency',
      reason: 'no node eligible for reads in region eu-west: eu lag unknown',
    });
  });

  it('with a client region, the tie-break uses configured distance', () => {
    const s = snap(node('eu', { region: 'eu', rttMs: 50 }), node('us', { region: 'us', rttMs: 1 }));
    expect(route(READ, s, ctx({ clientRegion: 'eu' }), policy(), idle)).toMatchObject({ node: 'eu' });
    expect(route(READ, s, ctx(), policy(), idle)).toMatchObject({ node: 'us' });
  });
});

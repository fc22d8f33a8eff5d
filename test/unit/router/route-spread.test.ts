// Reads spread over equal nodes. Regression: with equal lag, equal proximity and no backend active
// anywhere (idle sessions in transaction pooling), every read went to the first equal node in
// config order — a benchmark saw 6 idle sessions all on one standby. The last tie-break is now the
// node routed to least recently; the router stays pure (the history is an input).
import { describe, expect, it } from 'vitest';
import { route } from '../../../src/router/route.js';
import type { ActiveBackends, RouteDecision, RoutePolicy, RouteRequest, SessionRouteContext } from '../../../src/router/types.js';
import type { TopologySnapshot } from '../../../src/topology/types.js';
import { RouteRecency } from '../../../src/route-recency.js';
import { busy, ctx, idle, node, policy, READ, req, snap, WRITE } from './fixtures.js';

const physical = policy({ kind: 'physical', readsOnMasters: 'fallback' });
const primaryAnd2Standbys = () =>
  snap(node('primary', { lagMs: 0, rttMs: 0.3 }), node('s1', { role: 'replica', lagMs: 0, rttMs: 0.3 }), node('s2', { role: 'replica', lagMs: 0, rttMs: 0.4 }));

/** Routes `n` requests one after another, recording each decision as Meridian.route does. */
function routeMany(
  n: number,
  s: TopologySnapshot,
  p: RoutePolicy,
  opts: { r?: RouteRequest; c?: SessionRouteContext; active?: ActiveBackends; recency?: RouteRecency } = {},
): string[] {
  const recency = opts.recency ?? new RouteRecency();
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const d = route(opts.r ?? READ, s, opts.c ?? ctx(), p, opts.active ?? idle, recency.lastRoutedSeq);
    if (!d.ok) throw new Error(d.reason);
    recency.note(d.node);
    out.push(d.node);
  }
  return out;
}

describe('route: reads spread over equal nodes', () => {
  it('idle sessions at equal lag take turns on the standbys, never the primary', () => {
    expect(routeMany(6, primaryAnd2Standbys(), physical)).toEqual(['s1', 's2', 's1', 's2', 's1', 's2']);
  });

  it('three equal nodes rotate in config order', () => {
    const s = snap(node('a'), node('b'), node('c'));
    expect(routeMany(7, s, policy())).toEqual(['a', 'b', 'c', 'a', 'b', 'c', 'a']);
  });

  it('is pure: without a recorded decision the same inputs give the same node, and the same frozen decision object', () => {
    const s = primaryAnd2Standbys();
    const seq = (n: string) => (n === 's1' ? 4 : n === 's2' ? 2 : 0);
    const a = route(READ, s, ctx(), physical, idle, seq);
    const b = route(READ, s, ctx(), physical, idle, seq);
    expect(a).toMatchObject({ ok: true, node: 's2' });
    expect(b).toBe(a);
    expect(Object.isFrozen(a)).toBe(true);
  });

  it('the cached decisions are per node: a recorded decision moves the next read to the other node', () => {
    const s = primaryAnd2Standbys();
    const recency = new RouteRecency();
    const first = route(READ, s, ctx(), physical, idle, recency.lastRoutedSeq);
    recency.note((first as { node: string }).node);
    const second = route(READ, s, ctx(), physical, idle, recency.lastRoutedSeq);
    expect(second).not.toBe(first);
    expect([first, second].map((d: RouteDecision) => (d.ok ? d.node : null)).sort()).toEqual(['s1', 's2']);
  });

  it('only equal lag counts: a standby outside lag_tolerance is never in the rotation', () => {
    const s = snap(
      node('primary', { lagMs: 0 }),
      node('s1', { role: 'replica', lagMs: 0 }),
      node('s2', { role: 'replica', lagMs: 90 }),
      node('s3', { role: 'replica', lagMs: 101 }),
    );
    expect(new Set(routeMany(9, s, physical))).toEqual(new Set(['s1', 's2']));
    expect(new Set(routeMany(9, s, { ...physical, lagToleranceMs: 0 }))).toEqual(new Set(['s1']));
  });

  it('only equal proximity counts: a standby beyond the proximity tolerance is never in the rotation', () => {
    const s = snap(
      node('primary', { rttMs: 0.2 }),
      node('near1', { role: 'replica', rttMs: 0.5 }),
      node('near2', { role: 'replica', rttMs: 1.4 }),
      node('far', { role: 'replica', rttMs: 1.6 }),
    );
    expect(new Set(routeMany(9, s, physical))).toEqual(new Set(['near1', 'near2']));
  });

  it('busy-ness still comes first: the less busy node wins even when it was routed to more recently', () => {
    const s = primaryAnd2Standbys();
    expect(routeMany(4, s, physical, { active: busy({ s1: 2, s2: 1 }) })).toEqual(['s2', 's2', 's2', 's2']);
  });

  it('writes are not spread, and a write in between does not disturb the read rotation', () => {
    const s = primaryAnd2Standbys();
    const recency = new RouteRecency();
    const seen: string[] = [];
    for (let i = 0; i < 3; i++) {
      seen.push(...routeMany(1, s, physical, { r: WRITE, recency }));
      seen.push(...routeMany(1, s, physical, { recency }));
    }
    expect(seen).toEqual(['primary', 's1', 'primary', 's2', 'primary', 's1']);
  });

  it('reads_on_masters=always (active-active): equal masters take turns, and writes count as use', () => {
    const s = snap(node('n1'), node('n2'), node('n3'));
    const recency = new RouteRecency();
    expect(routeMany(1, s, policy(), { r: WRITE, recency })).toEqual(['n1']);
    expect(routeMany(3, s, policy(), { recency })).toEqual(['n2', 'n3', 'n1']);
  });

  it('hint route=replica spreads too; hint node=NAME does not', () => {
    const s = primaryAnd2Standbys();
    expect(routeMany(4, s, physical, { r: req('read', { route: 'replica' }) })).toEqual(['s1', 's2', 's1', 's2']);
    expect(routeMany(3, s, physical, { r: req('read', { node: 's2' }) })).toEqual(['s2', 's2', 's2']);
  });

  it('residency: the rotation stays inside the allowed regions', () => {
    const s = snap(node('eu1', { region: 'eu' }), node('eu2', { region: 'eu' }), node('us1', { region: 'us' }));
    const c = ctx({ allowedRegions: new Set(['eu']), residencyRule: 'eu' });
    expect(routeMany(4, s, policy(), { c })).toEqual(['eu1', 'eu2', 'eu1', 'eu2']);
  });

  it('a node that joins the equal set (lag caught up) is used next: never routed beats any history', () => {
    const recency = new RouteRecency();
    const lagging = snap(node('s1', { role: 'replica' }), node('s2', { role: 'replica' }), node('s3', { role: 'replica', lagMs: 3000 }));
    routeMany(4, lagging, physical, { recency });
    const caughtUp = snap(node('s1', { role: 'replica' }), node('s2', { role: 'replica' }), node('s3', { role: 'replica' }));
    expect(routeMany(3, caughtUp, physical, { recency })).toEqual(['s3', 's1', 's2']);
  });
});

describe('RouteRecency', () => {
  it('0 for a node never routed to; later decisions get larger numbers', () => {
    const r = new RouteRecency();
    expect(r.lastRoutedSeq('a')).toBe(0);
    r.note('a');
    r.note('b');
    expect(r.lastRoutedSeq('a')).toBeGreaterThan(0);
    expect(r.lastRoutedSeq('b')).toBeGreaterThan(r.lastRoutedSeq('a'));
    r.note('a');
    expect(r.lastRoutedSeq('a')).toBeGreaterThan(r.lastRoutedSeq('b'));
    expect(r.lastRoutedSeq('c')).toBe(0);
  });

  it('keeps every node when there are more nodes than its first table holds', () => {
    const r = new RouteRecency();
    const names = Array.from({ length: 40 }, (_, i) => `n${i}`);
    for (const n of names) r.note(n);
    const seqs = names.map((n) => r.lastRoutedSeq(n));
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(seqs).size).toBe(40);
    expect(seqs[0]).toBeGreaterThan(0);
  });

  it('lastRoutedSeq is a bound function (passed to the router as a plain callback)', () => {
    const r = new RouteRecency();
    r.note('x');
    const f = r.lastRoutedSeq;
    expect(f('x')).toBe(r.lastRoutedSeq('x'));
  });
});

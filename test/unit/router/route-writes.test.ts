import { describe, expect, it } from 'vitest';
import { route } from '../../../src/router/route.js';
import { ctx, idle, node, PLACES, policy, snap, WRITE } from './fixtures.js';

describe('route: writes go to the nearest healthy master', () => {
  it('picks the master with the smallest smoothed RTT', () => {
    const s = snap(node('far', { rttMs: 80 }), node('near', { rttMs: 2 }), node('mid', { rttMs: 30 }));
    expect(route(WRITE, s, ctx(), policy(), idle)).toMatchObject({ ok: true, node: 'near' });
  });

  it('never sends a write to a replica, even the nearest node', () => {
    const s = snap(node('replica', { role: 'replica', rttMs: 1 }), node('primary', { rttMs: 50 }));
    expect(route(WRITE, s, ctx(), policy({ kind: 'physical', readsOnMasters: 'fallback' }), idle)).toMatchObject({ ok: true, node: 'primary' });
  });

  it.each([
    ['down', { isUp: false, failedProbes: 2 }],
    ['draining', { state: 'draining' as const }],
    ['drained', { state: 'drained' as const }],
    ['catching-up', { state: 'catching-up' as const }],
    ['split-brain loser', { isSplitBrain: true }],
    ['role unknown', { role: 'unknown' as const }],
  ])('skips a %s master', (_label, over) => {
    const s = snap(node('near', { rttMs: 1, ...over }), node('next', { rttMs: 30 }));
    expect(route(WRITE, s, ctx(), policy(), idle)).toMatchObject({ ok: true, node: 'next' });
  });

  it('the very next write after an eviction goes to the next nearest master', () => {
    const before = snap(node('a', { rttMs: 2 }), node('b', { rttMs: 30 }), node('c', { rttMs: 80 }));
    expect(route(WRITE, before, ctx(), policy(), idle)).toMatchObject({ node: 'a' });
    const after = snap(node('a', { rttMs: 2, isUp: false, lastError: 'evicted: connection refused' }), node('b', { rttMs: 30 }), node('c', { rttMs: 80 }));
    expect(route(WRITE, after, ctx(), policy(), idle)).toMatchObject({ node: 'b' });
  });

  it('uses the configured distance from the proxy location while RTT is unknown', () => {
    const s = snap(
      node('virginia', { rttMs: null, location: PLACES.virginia }),
      node('dublin', { rttMs: null, location: PLACES.dublin }),
      node('tokyo', { rttMs: null, location: PLACES.tokyo }),
    );
    const p = policy({ proxyLocation: PLACES.london, proxyRegion: 'eu-west' });
    expect(route(WRITE, s, ctx(), p, idle)).toMatchObject({ ok: true, node: 'dublin' });
  });

  it('a measured RTT beats the configured estimate of another node', () => {
    // dublin is ~4.6 ms by distance from London; frankfurt measured at 3 ms.
    const s = snap(node('dublin', { rttMs: null, location: PLACES.dublin }), node('frankfurt', { rttMs: 3, location: PLACES.frankfurt }));
    expect(route(WRITE, s, ctx(), policy({ proxyLocation: PLACES.london }), idle)).toMatchObject({ node: 'frankfurt' });
  });

  it('uses the proxy region when neither side has a location', () => {
    const s = snap(node('x', { rttMs: null, region: 'us-east' }), node('y', { rttMs: null, region: 'eu-west' }));
    expect(route(WRITE, s, ctx(), policy({ proxyRegion: 'eu-west' }), idle)).toMatchObject({ node: 'y' });
  });

  it('with a client region, uses configured distance from that region instead of RTT', () => {
    const s = snap(
      node('dublin', { region: 'eu-west', location: PLACES.dublin, rttMs: 1 }),
      node('virginia', { region: 'us-east', location: PLACES.virginia, rttMs: 80 }),
      node('tokyo', { region: 'ap-ne', location: PLACES.tokyo, rttMs: 150 }),
    );
    expect(route(WRITE, s, ctx({ clientRegion: 'us-east' }), policy(), idle)).toMatchObject({ node: 'virginia' });
    // us-east gone: Dublin is closer to Virginia than Tokyo is.
    const s2 = snap(
      node('dublin', { region: 'eu-west', location: PLACES.dublin, rttMs: 100 }),
      node('virginia', { region: 'us-east', location: PLACES.virginia, isUp: false }),
      node('tokyo', { region: 'ap-ne', location: PLACES.tokyo, rttMs: 1 }),
    );
    expect(route(WRITE, s2, ctx({ clientRegion: 'us-east' }), policy(), idle)).toMatchObject({ node: 'dublin' });
  });

  it('a client region nobody is in falls back to RTT', () => {
    const s = snap(node('a', { region: 'eu', rttMs: 40 }), node('b', { region: 'us', rttMs: 5 }));
    expect(route(WRITE, s, ctx({ clientRegion: 'mars' }), policy(), idle)).toMatchObject({ node: 'b' });
  });

  it('masters within the proximity tolerance are equal: higher priority, then config order', () => {
    const s = snap(node('a', { rttMs: 0.4 }), node('b', { rttMs: 0.3 }), node('c', { rttMs: 0.35, priority: 5 }));
    expect(route(WRITE, s, ctx(), policy(), idle)).toMatchObject({ node: 'c' });
    const s2 = snap(node('a', { rttMs: 0.4 }), node('b', { rttMs: 0.3 }));
    expect(route(WRITE, s2, ctx(), policy(), idle)).toMatchObject({ node: 'a' });
    expect(route(WRITE, s2, ctx(), policy({ proximityToleranceMs: 0 }), idle)).toMatchObject({ node: 'b' });
  });

  it('residency keeps writes in the allowed regions even when a foreign master is nearer', () => {
    const s = snap(node('us', { region: 'us-east', rttMs: 1 }), node('eu', { region: 'eu-west', rttMs: 90 }));
    const c = ctx({ allowedRegions: new Set(['eu-west']), residencyRule: 'eu' });
    expect(route(WRITE, s, c, policy(), idle)).toMatchObject({ ok: true, node: 'eu' });
  });

  it('residency with no allowed master refuses with "residency", never a foreign node', () => {
    const s = snap(node('us', { region: 'us-east' }), node('eu', { region: 'eu-west', isUp: false, failedProbes: 2, lastError: 'connection refused' }));
    const c = ctx({ allowedRegions: new Set(['eu-west']), residencyRule: 'eu' });
    const d = route(WRITE, s, c, policy(), idle);
    expect(d).toEqual({ ok: false, refusal: 'residency', reason: 'no healthy master in region eu-west: eu down (2 failed probes: connection refused)' });
  });

  it('refusal names every reason in a sentence', () => {
    const s = snap(
      node('dublin', { isUp: false, failedProbes: 2, lastError: null }),
      node('virginia', { state: 'draining' }),
      node('tokyo', { role: 'replica' }),
      node('paris', { isUp: false, lastError: 'evicted: connection refused on live traffic' }),
    );
    expect(route(WRITE, s, ctx(), policy(), idle)).toEqual({
      ok: false,
      refusal: 'no-master',
      reason:
        'no healthy master: dublin down (2 failed probes), virginia draining, tokyo is a replica, paris down (evicted: connection refused on live traffic)',
    });
  });

  it('an empty cluster refuses clearly', () => {
    expect(route(WRITE, snap(), ctx(), policy(), idle)).toEqual({ ok: false, refusal: 'no-master', reason: 'no healthy master: no nodes configured' });
  });

  it('returns the same frozen decision object for the same snapshot (no allocation)', () => {
    const s = snap(node('a'), node('b', { rttMs: 5 }));
    const p = policy();
    const d1 = route(WRITE, s, ctx(), p, idle);
    expect(route(WRITE, s, ctx(), p, idle)).toBe(d1);
    expect(Object.isFrozen(d1)).toBe(true);
  });
});

import { describe, expect, it } from 'vitest';
import { route } from '../../../src/router/route.js';
import { explainRoute } from '../../../src/router/explain-route.js';
import { ctx, idle, node, policy, READ, req, snap, WRITE } from './fixtures.js';

const physical = policy({ kind: 'physical', readsOnMasters: 'fallback' });
const cluster = snap(
  node('primary', { rttMs: 10 }),
  node('s1', { role: 'replica', lagMs: 20, rttMs: 1 }),
  node('s2', { role: 'replica', lagMs: 30, rttMs: 2, isUp: false, failedProbes: 2, lastError: 'connection refused' }),
  node('s3', { role: 'replica', state: 'draining' }),
  node('far', { role: 'replica', region: 'us-east' }),
);

describe('route: hints override the classification', () => {
  it('route=master sends a read to the nearest master', () => {
    expect(route(req('read', { route: 'master' }), cluster, ctx(), physical, idle)).toMatchObject({ ok: true, node: 'primary' });
  });

  it('route=replica sends a write-classified statement to a replica', () => {
    expect(route(req('write', { route: 'replica' }), cluster, ctx(), physical, idle)).toMatchObject({ ok: true, node: 's1' });
  });

  it('route=replica prefers replicas even when reads_on_masters is always', () => {
    const s = snap(node('m', { rttMs: 1 }), node('r', { role: 'replica', rttMs: 40 }));
    expect(route(req('read', { route: 'replica' }), s, ctx(), policy({ readsOnMasters: 'always' }), idle)).toMatchObject({ node: 'r' });
  });

  it('route=replica in an active-active cluster (masters only) still finds a node', () => {
    const s = snap(node('a', { rttMs: 1 }), node('b', { rttMs: 40 }));
    expect(route(req('read', { route: 'replica' }), s, ctx(), policy(), idle)).toMatchObject({ ok: true, node: 'a' });
  });

  it('node=NAME goes to that node, even a replica for a write (explicit choice)', () => {
    expect(route(req('read', { node: 'far' }), cluster, ctx(), physical, idle)).toEqual({ ok: true, node: 'far', reason: 'hint node=far' });
  });

  it('node=NAME to a down node is refused, never rerouted', () => {
    expect(route(req('read', { node: 's2' }), cluster, ctx(), physical, idle)).toEqual({
      ok: false,
      refusal: 'node-down',
      reason: 'hint node=s2: s2 down (2 failed probes: connection refused)',
    });
  });

  it('node=NAME to a draining node is refused', () => {
    expect(route(req('read', { node: 's3' }), cluster, ctx(), physical, idle)).toEqual({
      ok: false,
      refusal: 'node-down',
      reason: 'hint node=s3: s3 draining',
    });
  });

  it('node=NAME to an unknown node is refused and lists the nodes', () => {
    expect(route(req('write', { node: 'nope' }), cluster, ctx(), physical, idle)).toEqual({
      ok: false,
      refusal: 'unknown-node',
      reason: 'hint node=nope: no node named "nope" (nodes: primary, s1, s2, s3, far)',
    });
  });

  it('node=NAME outside residency is refused with "residency"', () => {
    const c = ctx({ allowedRegions: new Set(['primary', 's1']), residencyRule: 'eu' });
    expect(route(req('read', { node: 'far' }), cluster, c, physical, idle)).toEqual({
      ok: false,
      refusal: 'residency',
      reason: 'hint node=far: far outside residency rule "eu" (region us-east)',
    });
  });

  it('a statement hint beats the session hint; the session hint applies otherwise', () => {
    const c = ctx({ sessionHint: { route: 'master' } });
    expect(route(READ, cluster, c, physical, idle)).toMatchObject({ node: 'primary' });
    expect(route(req('read', { node: 's1' }), cluster, c, physical, idle)).toMatchObject({ node: 's1' });
    expect(route(req('write', { route: 'replica' }), cluster, c, physical, idle)).toMatchObject({ node: 's1' });
  });
});

describe('explainRoute', () => {
  it('returns the decision and a reason for every node', () => {
    const e = explainRoute(WRITE, cluster, ctx(), physical, idle);
    expect(e.decision).toMatchObject({ ok: true, node: 'primary' });
    expect(e.plan).toBe('write');
    expect(e.nodes.map((n) => [n.node, n.isChosen, n.reason])).toEqual([
      ['primary', true, 'chosen: nearest healthy master (proximity 10 ms, priority 0)'],
      ['s1', false, 's1 is a replica'],
      ['s2', false, 's2 down (2 failed probes: connection refused)'],
      ['s3', false, 's3 draining'],
      ['far', false, 'far is a replica'],
    ]);
  });

  it('explains reads with lag and proximity, and hints with their source', () => {
    const e = explainRoute(READ, cluster, ctx({ sessionHint: { route: 'replica' } }), physical, idle);
    expect(e.hintSource).toBe('session');
    expect(e.decision).toMatchObject({ ok: true, node: 's1' });
    expect(e.nodes.find((n) => n.node === 's1')?.reason).toBe('chosen: lag 20 ms, proximity 1 ms');
    expect(e.nodes.find((n) => n.node === 'primary')?.reason).toContain('master, used only when no replica is eligible');
  });

  it('agrees with route() on refusals', () => {
    const s = snap(node('a', { isUp: false }));
    const e = explainRoute(WRITE, s, ctx(), policy(), idle);
    expect(e.decision).toEqual(route(WRITE, s, ctx(), policy(), idle));
    expect(e.nodes[0]?.isEligible).toBe(false);
  });
});

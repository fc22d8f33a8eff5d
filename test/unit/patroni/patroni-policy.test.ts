// Patroni as a topology source, the pure parts: GET /cluster bodies checked (hostile ones included),
// members matched to configured nodes, roles combined with probes, switchovers recognised, and the
// write hold in the topology store and the router (writes refused 'writes-held', reads unaffected).
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { NodeConfig } from '../../../src/config/types.js';
import { MAX_MEMBERS, parseClusterView, type PatroniView } from '../../../src/patroni/cluster-view.js';
import { combineRole, describeMember, matchMembers, patroniRole, switchoverUnderWay } from '../../../src/patroni/patroni-policy.js';
import { TopologyStore } from '../../../src/topology/topology-store.js';
import { route } from '../../../src/router/route.js';
import type { RoutePolicy, SessionRouteContext } from '../../../src/router/types.js';

const node = (name: string, port: number): NodeConfig => ({ name, host: '127.0.0.1', port, region: 'r', location: null, priority: 0 });
const NODES = [node('n1', 5501), node('n2', 5502), node('n3', 5503)];

/** A GET /cluster body as Patroni 3.0 sends it. */
const BODY = JSON.stringify({
  members: [
    { name: 'n1', role: 'leader', state: 'running', api_url: 'http://127.0.0.1:8008/patroni', host: '127.0.0.1', port: 5501, timeline: 1 },
    { name: 'n2', role: 'replica', state: 'running', api_url: 'http://127.0.0.1:8009/patroni', host: '127.0.0.1', port: 5502, timeline: 1, lag: 0 },
    { name: 'n3', role: 'sync_standby', state: 'running', host: '127.0.0.1', port: 5503, timeline: 1, lag: 'unknown' },
  ],
});

function view(body: string = BODY): PatroniView {
  const v = parseClusterView(body);
  if (typeof v === 'string') throw new Error(v);
  return v;
}

describe('parseClusterView', () => {
  it("reads Patroni 3.0's members: name, role, state, host, port, lag (bytes; 'unknown' → null)", () => {
    const v = view();
    expect(v.members.map((m) => [m.name, m.role, m.state, m.host, m.port, m.lagBytes])).toEqual([
      ['n1', 'leader', 'running', '127.0.0.1', 5501, null],
      ['n2', 'replica', 'running', '127.0.0.1', 5502, 0],
      ['n3', 'sync_standby', 'running', '127.0.0.1', 5503, null],
    ]);
    expect(v.scheduledSwitchover).toBeNull();
    expect(v.isPaused).toBe(false);
  });

  it('reads a scheduled switchover and pause', () => {
    const v = view(JSON.stringify({ members: [], pause: true, scheduled_switchover: { at: '2026-12-07T12:00:00+00:00', from: 'n1', to: 'n2' } }));
    expect(v.scheduledSwitchover).toEqual({ atMs: Date.parse('2026-12-07T12:00:00Z'), from: 'n1', to: 'n2' });
    expect(v.isPaused).toBe(true);
  });

  it.each([
    ['not JSON', '<html>502 Bad Gateway</html>', 'not JSON'],
    ['a list', '[1,2]', 'not a JSON object'],
    ['no members', '{"scope":"x"}', 'no members'],
    ['members not a list', '{"members":{"n1":1}}', 'no members'],
    ['a member not an object', '{"members":[1]}', 'members[0] is not an object'],
    ['a member without a name', '{"members":[{"role":"leader"}]}', 'members[0].name'],
    ['a name of the wrong type', '{"members":[{"name":7,"role":"leader"}]}', 'members[0].name'],
    ['a role missing', '{"members":[{"name":"n1"}]}', 'members[0].role'],
    ['a name too long', JSON.stringify({ members: [{ name: 'x'.repeat(300), role: 'leader' }] }), 'members[0].name'],
    ['a member twice', '{"members":[{"name":"n1","role":"replica"},{"name":"n1","role":"leader"}]}', 'listed twice'],
    ['two leaders', '{"members":[{"name":"n1","role":"leader"},{"name":"n2","role":"leader"}]}', 'more than one leader'],
    [
      'too many members',
      JSON.stringify({ members: Array.from({ length: MAX_MEMBERS + 1 }, (_, i) => ({ name: `m${i}`, role: 'replica' })) }),
      'members (at most',
    ],
  ])('refuses %s with a reason', (_what, body, reason) => {
    const v = parseClusterView(body);
    expect(typeof v).toBe('string');
    expect(v).toContain(reason);
  });

  it('ignores fields of the wrong type instead of trusting them (port, lag, state, scheduled_switchover)', () => {
    const v = view(
      JSON.stringify({ members: [{ name: 'n1', role: 'replica', state: 5, port: 'x', lag: -3, host: {} }], scheduled_switchover: { at: 'soon' } }),
    );
    expect(v.members[0]).toEqual({ name: 'n1', role: 'replica', state: '', host: null, port: null, lagBytes: null });
    expect(v.scheduledSwitchover).toBeNull();
  });

  it('never throws, whatever the body (fuzzed: any string, any JSON value)', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.json(),
          fc.jsonValue().map((j) => JSON.stringify({ members: [j] })),
        ),
        (body) => {
          const v = parseClusterView(body);
          expect(typeof v === 'string' || Array.isArray(v.members)).toBe(true);
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('matching members to nodes and roles', () => {
  it('matches by name first, then by host:port; members matching no node are left out', () => {
    const v = view(
      JSON.stringify({
        members: [
          { name: 'pg-a', role: 'leader', state: 'running', host: '127.0.0.1', port: 5502 },
          { name: 'n1', role: 'replica', state: 'running', host: '10.0.0.9', port: 5432 },
          { name: 'stranger', role: 'replica', state: 'running', host: '10.0.0.8', port: 5432 },
        ],
      }),
    );
    const m = matchMembers(v, NODES);
    expect([...m].map(([n, mem]) => [n, mem.name])).toEqual([
      ['n2', 'pg-a'],
      ['n1', 'n1'],
    ]);
  });

  it('leader → master; replica, sync_standby, standby_leader → replica; anything else unknown', () => {
    const roles = ['leader', 'replica', 'sync_standby', 'standby_leader', 'uninitialized'].map((role) =>
      patroniRole({ name: 'x', role, state: 'running', host: null, port: null, lagBytes: null }),
    );
    expect(roles).toEqual(['master', 'replica', 'replica', 'replica', 'unknown']);
  });

  it('combines with the probe: the probe alone without Patroni; with Patroni only what both say', () => {
    expect(combineRole('master', undefined)).toBe('master');
    expect(combineRole('master', 'master')).toBe('master');
    expect(combineRole('replica', 'replica')).toBe('replica');
    // a promotion the probe has not seen yet; an old primary not yet demoted
    expect(combineRole('replica', 'master')).toBe('unknown');
    expect(combineRole('master', 'replica')).toBe('unknown');
    expect(combineRole('unknown', 'master')).toBe('unknown');
  });

  it('describes a member for SHOW NODES', () => {
    const v = view();
    expect(v.members.map(describeMember)).toEqual(['leader running', 'replica running, lag 0 B', 'sync_standby running, lag unknown']);
  });
});

describe('switchoverUnderWay', () => {
  const at = (members: object[], extra: object = {}) => view(JSON.stringify({ members, ...extra }));
  const now = Date.parse('2026-12-07T12:00:00Z');

  it('null while a leader runs', () => {
    expect(switchoverUnderWay(view(), 'n1', now, 2000)).toBeNull();
  });

  it('no leader: held (the old leader named)', () => {
    expect(switchoverUnderWay(at([{ name: 'n1', role: 'replica', state: 'stopped' }]), 'n1', now, 2000)).toBe('Patroni cluster has no leader (was n1)');
  });

  it('the leader stopping or demoting: held', () => {
    expect(switchoverUnderWay(at([{ name: 'n1', role: 'leader', state: 'stopping' }]), 'n1', now, 2000)).toBe('Patroni leader n1 is stopping');
    expect(switchoverUnderWay(at([{ name: 'n1', role: 'leader', state: 'demoting' }]), 'n1', now, 2000)).toBe('Patroni leader n1 is demoting');
  });

  it('a scheduled switchover holds only once it is due within the horizon', () => {
    const members = [{ name: 'n1', role: 'leader', state: 'running' }];
    const soon = at(members, { scheduled_switchover: { at: new Date(now + 1000).toISOString(), to: 'n2' } });
    const later = at(members, { scheduled_switchover: { at: new Date(now + 60_000).toISOString(), to: 'n2' } });
    expect(switchoverUnderWay(soon, 'n1', now, 2000)).toBe('Patroni switchover scheduled to n2');
    expect(switchoverUnderWay(later, 'n1', now, 2000)).toBeNull();
  });

  it('a standby cluster (standby_leader, no leader) holds nothing; an empty view holds nothing', () => {
    expect(switchoverUnderWay(at([{ name: 'n1', role: 'standby_leader', state: 'running' }]), null, now, 2000)).toBeNull();
    expect(switchoverUnderWay(at([]), 'n1', now, 2000)).toBeNull();
  });
});

describe('the write hold', () => {
  const policy: RoutePolicy = {
    kind: 'physical',
    isMultiMaster: false,
    readsOnMasters: 'fallback',
    maxReadLagMs: 5000,
    lagToleranceMs: 100,
    proxyRegion: null,
    proxyLocation: null,
  };
  const ctx: SessionRouteContext = { allowedRegions: null, residencyRule: null, clientRegion: null, sessionHint: null };
  const up = (n: string, role: 'master' | 'replica') => ({ node: n, isUp: true, role, lagMs: 0, lastProbeAtMs: 1, failedProbes: 0 });

  it('refuses writes with writes-held while held, reads still route; released: writes route again; logged once each', () => {
    let t = 1000;
    const events: string[] = [];
    const store = new TopologyStore(NODES, { kind: 'physical', now: () => t, hooks: { onEvent: (e) => events.push(e.type) } });
    store.applyProbes([up('n1', 'master'), up('n2', 'replica'), up('n3', 'replica')]);
    const write = () => route({ intent: 'write', hint: null }, store.snapshot, ctx, policy, () => 0);
    const read = () => route({ intent: 'read', hint: null }, store.snapshot, ctx, policy, () => 0);
    expect(write()).toMatchObject({ ok: true, node: 'n1' });

    expect(store.holdWrites('switchover', 'switchover to n2 under way')).toBe(true);
    expect(store.snapshot.writesHeld).toBe('switchover to n2 under way');
    expect(write()).toEqual({ ok: false, refusal: 'writes-held', reason: 'writes held: switchover to n2 under way' });
    expect(read()).toMatchObject({ ok: true });

    // a second source joins; releasing one keeps the other's hold
    store.holdWrites('patroni', 'Patroni cluster has no leader (was n1)');
    store.holdWrites('switchover', null);
    expect(store.snapshot.writesHeld).toBe('Patroni cluster has no leader (was n1)');
    t += 1500;
    expect(store.holdWrites('patroni', null)).toBe(true);
    expect(store.holdWrites('patroni', null)).toBe(false);
    expect(store.snapshot.writesHeld).toBeNull();
    expect(write()).toMatchObject({ ok: true, node: 'n1' });
    expect(events.filter((e) => e === 'writes-released')).toHaveLength(1);
  });
});

// Property tests: whatever the snapshot, the router never breaks its safety rules, and it agrees
// with a straightforward sort-based reference model of the routing rules (README, "What it does" → Routing).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { RouteHint } from '../../../src/classify/types.js';
import { route } from '../../../src/router/route.js';
import { kindPlugin } from '../../../src/cluster/kinds/index.js';
import { proximityMs, buildProximityTables, clientTable } from '../../../src/router/proximity.js';
import type { RoutePolicy, RouteRequest, SessionRouteContext } from '../../../src/router/types.js';
import type { NodeSnapshot, TopologySnapshot } from '../../../src/topology/types.js';
import { node, snap } from './fixtures.js';

const REGIONS = ['eu', 'us', 'ap'] as const;
const NAMES = ['n0', 'n1', 'n2', 'n3', 'n4', 'n5'];

const arbNode = (name: string) =>
  fc
    .record({
      region: fc.constantFrom(...REGIONS),
      isUp: fc.boolean(),
      role: fc.constantFrom('master', 'replica', 'unknown') as fc.Arbitrary<NodeSnapshot['role']>,
      rttMs: fc.option(fc.double({ min: 0, max: 200, noNaN: true }), { nil: null }),
      lagMs: fc.option(fc.constantFrom(0, 50, 99, 100, 150, 1000, 4999, 5000, 5001, 9000), { nil: null }),
      state: fc.constantFrom('active', 'active', 'draining', 'drained', 'catching-up') as fc.Arbitrary<NodeSnapshot['state']>,
      isSplitBrain: fc.boolean(),
      priority: fc.constantFrom(0, 0, 1),
      location: fc.option(fc.record({ lat: fc.double({ min: -80, max: 80, noNaN: true }), lon: fc.double({ min: -179, max: 179, noNaN: true }) }), {
        nil: null,
      }),
    })
    .map((o) => node(name, { ...o, isSplitBrain: o.isSplitBrain && o.role === 'master' }));

const arbSnap = fc.integer({ min: 0, max: NAMES.length }).chain((n) => fc.tuple(...NAMES.slice(0, n).map(arbNode)).map((nodes) => snap(...nodes)));

const arbHint: fc.Arbitrary<RouteHint | null> = fc.oneof(
  fc.constant(null),
  fc.constant(null),
  fc.constant({ route: 'master' as const }),
  fc.constant({ route: 'replica' as const }),
  fc.constantFrom(...NAMES, 'ghost').map((name) => ({ node: name })),
);

const arbCtx: fc.Arbitrary<SessionRouteContext> = fc.record({
  allowedRegions: fc.option(
    fc.subarray([...REGIONS], { minLength: 1 }).map((r) => new Set<string>(r)),
    { nil: null },
  ),
  residencyRule: fc.constant('rule'),
  clientRegion: fc.option(fc.constantFrom(...REGIONS, 'mars'), { nil: null }),
  sessionHint: arbHint,
});

const arbPolicy: fc.Arbitrary<RoutePolicy> = fc
  .record({
    kind: fc.constantFrom('physical', 'pglogical') as fc.Arbitrary<RoutePolicy['kind']>,
    readsOnMasters: fc.constantFrom('always', 'fallback', 'never') as fc.Arbitrary<RoutePolicy['readsOnMasters']>,
    maxReadLagMs: fc.constantFrom(100, 5000),
    lagToleranceMs: fc.constantFrom(0, 100),
    proxyRegion: fc.option(fc.constantFrom(...REGIONS), { nil: null }),
    proxyLocation: fc.constant(null),
  })
  .map((p) => ({ ...p, isMultiMaster: kindPlugin(p.kind).isMultiMaster }));

const arbReq: fc.Arbitrary<RouteRequest> = fc.record({ intent: fc.constantFrom('read', 'write') as fc.Arbitrary<'read' | 'write'>, hint: arbHint });
const arbBusy = fc.array(fc.nat(5), { minLength: NAMES.length, maxLength: NAMES.length });
/** Routing history: small numbers so that equal ones (never routed: 0) occur. */
const arbSeq = fc.array(fc.nat(3), { minLength: NAMES.length, maxLength: NAMES.length });

const allowed = (n: NodeSnapshot, c: SessionRouteContext) => c.allowedRegions === null || c.allowedRegions.has(n.region);

describe('route properties', () => {
  it('never a down, draining, drained or catching-up node; never outside residency', () => {
    fc.assert(
      fc.property(arbSnap, arbReq, arbCtx, arbPolicy, arbBusy, (s, r, c, p, b) => {
        const d = route(r, s, c, p, (n) => b[NAMES.indexOf(n)] ?? 0);
        if (!d.ok) return;
        const n = s.byName.get(d.node);
        expect(n).toBeDefined();
        expect(n?.isUp).toBe(true);
        expect(n?.state).toBe('active');
        expect(allowed(n as NodeSnapshot, c)).toBe(true);
      }),
      { numRuns: 3000 },
    );
  });

  it('never a replica (or split-brain loser) for a write; never an unknown-lag or too-laggy node for a read (unknown everywhere: where a write goes)', () => {
    fc.assert(
      fc.property(arbSnap, arbCtx, arbPolicy, fc.constantFrom('read', 'write') as fc.Arbitrary<'read' | 'write'>, (s, c0, p, intent) => {
        const c = { ...c0, sessionHint: null };
        const d = route({ intent, hint: null }, s, c, p, () => 0);
        if (!d.ok) return;
        const n = s.byName.get(d.node) as NodeSnapshot;
        if (intent === 'write') {
          expect(n.role).toBe('master');
          expect(n.isSplitBrain).toBe(false);
        } else if (n.lagMs === null) {
          // Lag unknown on every node of a multi-master cluster: the read follows writes.
          expect(p.kind).not.toBe('physical');
          const w = route({ intent: 'write', hint: null }, s, c, p, () => 0);
          expect(w.ok && w.node).toBe(d.node);
        } else {
          expect(n.lagMs).not.toBeNull();
          expect(n.lagMs as number).toBeLessThanOrEqual(p.maxReadLagMs);
          expect(n.isSplitBrain).toBe(false);
          if (p.readsOnMasters === 'never') expect(n.role).toBe('replica');
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('agrees with a sort-based reference model', () => {
    fc.assert(
      fc.property(arbSnap, arbCtx, arbPolicy, arbBusy, arbSeq, fc.constantFrom('read', 'write') as fc.Arbitrary<'read' | 'write'>, (s, c0, p, b, q, intent) => {
        const c = { ...c0, sessionHint: null };
        const busyOf = (n: string) => b[NAMES.indexOf(n)] ?? 0;
        const seqOf = (n: string) => q[NAMES.indexOf(n)] ?? 0;
        const d = route({ intent, hint: null }, s, c, p, busyOf, seqOf);
        const expected = reference(intent, s, c, p, busyOf, seqOf);
        expect(d.ok ? d.node : null).toBe(expected);
      }),
      { numRuns: 3000 },
    );
  });

  it('a refusal always has a non-empty human reason', () => {
    fc.assert(
      fc.property(arbSnap, arbReq, arbCtx, arbPolicy, (s, r, c, p) => {
        const d = route(r, s, c, p, () => 0);
        if (!d.ok) expect(d.reason.length).toBeGreaterThan(10);
      }),
      { numRuns: 1000 },
    );
  });
});

/** The rules written the obvious way: filter, sort, take the first. */
function reference(
  intent: 'read' | 'write',
  s: TopologySnapshot,
  c: SessionRouteContext,
  p: RoutePolicy,
  busyOf: (n: string) => number,
  seqOf: (n: string) => number,
): string | null {
  const tables = buildProximityTables(s, p);
  const client = clientTable(tables, s, c.clientRegion);
  const items = s.nodes.map((n, i) => ({ n, i, prox: proximityMs(s, i, tables, client) }));
  const usable = items.filter(({ n }) => allowed(n, c) && n.isUp && n.state === 'active');
  if (intent === 'write') {
    const masters = usable.filter(({ n }) => n.role === 'master' && !n.isSplitBrain);
    if (masters.length === 0) return null;
    const best = Math.min(...masters.map((m) => m.prox));
    const near = masters.filter((m) => m.prox <= best + 1);
    near.sort((a, b) => b.n.priority - a.n.priority || a.i - b.i);
    return near[0]?.n.name ?? null;
  }
  const readable = usable.filter(({ n }) => n.role !== 'unknown' && !n.isSplitBrain && n.lagMs !== null && n.lagMs <= p.maxReadLagMs);
  const tiers = p.readsOnMasters === 'always' ? [['master', 'replica']] : p.readsOnMasters === 'never' ? [['replica']] : [['replica'], ['master']];
  for (const roles of tiers) {
    const cands = readable.filter(({ n }) => roles.includes(n.role));
    if (cands.length === 0) continue;
    const minLag = Math.min(...cands.map((x) => x.n.lagMs as number));
    const lagEq = cands.filter((x) => (x.n.lagMs as number) <= minLag + p.lagToleranceMs);
    const minProx = Math.min(...lagEq.map((x) => x.prox));
    const near = lagEq.filter((x) => x.prox <= minProx + 1);
    near.sort((a, b) => busyOf(a.n.name) - busyOf(b.n.name) || seqOf(a.n.name) - seqOf(b.n.name) || a.i - b.i);
    return near[0]?.n.name ?? null;
  }
  // Multi-master, lag unknown on every node that could read otherwise (whole cluster): as a write.
  const couldRead = s.nodes.filter((n) => n.isUp && n.state === 'active' && n.role !== 'unknown' && !n.isSplitBrain);
  const isUnknownEverywhere = couldRead.length > 0 && couldRead.every((n) => n.lagMs === null);
  if (p.kind !== 'physical' && p.readsOnMasters !== 'never' && isUnknownEverywhere) return reference('write', s, c, p, busyOf, seqOf);
  return null;
}

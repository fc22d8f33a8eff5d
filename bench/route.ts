// Route decisions per second on literal snapshots (no IO). Run: npx tsx bench/route.ts
// Covers the common request mixes: writes, reads (3 and 12 nodes), residency, client region.
import { route } from '../src/router/route.js';
import { node } from '../test/unit/router/fixtures.js';
import { buildSnapshot } from '../src/topology/snapshot.js';
import type { NodeSnapshot } from '../src/topology/types.js';
import type { RoutePolicy, RouteRequest, SessionRouteContext } from '../src/router/types.js';

function mk(name: string, i: number, over: Partial<NodeSnapshot> = {}): NodeSnapshot {
  const region = ['eu', 'us', 'ap'][i % 3] as string;
  return node(name, { port: 5500 + i, region, location: { lat: 10 * i, lon: 20 * i }, rttMs: 1 + i * 7, lagMs: (i * 37) % 200, ...over });
}

const three = buildSnapshot([mk('n1', 0), mk('n2', 1), mk('n3', 2)], 1, 0);
const twelve = buildSnapshot(
  Array.from({ length: 12 }, (_, i) => mk(`n${i}`, i, i % 4 === 0 ? {} : { role: 'replica' })),
  2,
  0,
);
const policy: RoutePolicy = {
  kind: 'pglogical',
  isMultiMaster: true,
  readsOnMasters: 'always',
  maxReadLagMs: 5000,
  lagToleranceMs: 100,
  proxyRegion: 'eu',
  proxyLocation: null,
};
const plain: SessionRouteContext = { allowedRegions: null, residencyRule: null, clientRegion: null, sessionHint: null };
const pinned: SessionRouteContext = { allowedRegions: new Set(['eu', 'us']), residencyRule: 'eu', clientRegion: 'us', sessionHint: null };
const WRITE: RouteRequest = { intent: 'write', hint: null };
const READ: RouteRequest = { intent: 'read', hint: null };
const counts = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8];
const busy = (n: string) => counts[n.length % 12] ?? 0;

function bench(label: string, fn: () => unknown): void {
  const iterations = 2_000_000;
  for (let i = 0; i < 200_000; i++) fn(); // warm-up
  const t0 = process.hrtime.bigint();
  let sink = 0;
  for (let i = 0; i < iterations; i++) if (fn() !== null) sink++;
  const ns = Number(process.hrtime.bigint() - t0);
  const perSec = (iterations / ns) * 1e9;
  console.log(
    `${label.padEnd(44)} ${(perSec / 1e6).toFixed(2).padStart(6)} M decisions/s  ${(ns / iterations).toFixed(0).padStart(4)} ns each${sink === 0 ? ' (!)' : ''}`,
  );
}

bench('write, 3 masters', () => route(WRITE, three, plain, policy, busy));
bench('read, 3 masters', () => route(READ, three, plain, policy, busy));
bench('write, 12 nodes, residency + client region', () => route(WRITE, twelve, pinned, policy, busy));
bench('read, 12 nodes, residency + client region', () => route(READ, twelve, pinned, policy, busy));
const fallback: RoutePolicy = { ...policy, readsOnMasters: 'fallback' };
bench('read, 12 nodes, fallback', () => route(READ, twelve, plain, fallback, busy));
bench('write, 12 nodes', () => route(WRITE, twelve, plain, policy, busy));
const residencyOnly: SessionRouteContext = { ...pinned, clientRegion: null };
bench('write, 12 nodes, residency', () => route(WRITE, twelve, residencyOnly, policy, busy));

// TopologyFollower (issue 17, workers): a worker's store takes the primary's probed facts, keeps
// its own drain state, skips stale or repeated snapshots and readmits a caught-up node.

import { describe, expect, it } from 'vitest';
import type { NodeConfig } from '../../../src/config/types.js';
import { TopologyFollower, topologyToWire, type WireTopology } from '../../../src/fleet/topology-wire.js';
import { TopologyStore } from '../../../src/topology/topology-store.js';

const nodes: NodeConfig[] = [
  { name: 'p', host: '127.0.0.1', port: 5432, region: 'a', location: null, priority: 0 },
  { name: 's1', host: '127.0.0.1', port: 5433, region: 'a', location: null, priority: 0 },
];

function primaryStore(): TopologyStore {
  const s = new TopologyStore(nodes, { kind: 'physical', now: () => 1000 });
  s.applyProbes([
    { node: 'p', isUp: true, role: 'master', rttMs: 1, lagMs: 0, lastProbeAtMs: 1000 },
    { node: 's1', isUp: true, role: 'replica', rttMs: 2, lagMs: 5, lagBytes: 10, seenWrites: new Map([['p', 990]]), lastProbeAtMs: 1000 },
  ]);
  return s;
}

describe('TopologyFollower', () => {
  it('a worker started late takes the primary’s split-brain judgement, not its own (the primary remembers the incumbent master)', () => {
    // s1 was promoted while p was down (s1 holds writes: the incumbent); p comes back still claiming master.
    const primary = new TopologyStore(nodes, { kind: 'physical', now: () => 1000 });
    primary.applyProbes([
      { node: 'p', isUp: false, role: 'master', lastProbeAtMs: 1000 },
      { node: 's1', isUp: true, role: 'master', lastProbeAtMs: 1000 },
    ]);
    primary.applyProbe({ node: 'p', isUp: true, role: 'master' });
    expect(primary.snapshot.byName.get('p')!.isSplitBrain).toBe(true);
    // A worker (re)started now has no history: on its own it would prefer p (first of equal priority).
    const worker = new TopologyStore(nodes, { kind: 'physical' });
    new TopologyFollower(worker, () => 1000).apply(structuredClone(topologyToWire(primary.snapshot, () => null)));
    const flags = worker.snapshot.nodes.map((n) => [n.name, n.isSplitBrain]);
    console.log(`split-brain flags of a worker started late: ${JSON.stringify(flags)} (primary: p flagged)`);
    expect(flags).toEqual([
      ['p', true],
      ['s1', false],
    ]);
    // Its own later change (a drain) keeps the primary's preferred master.
    worker.setAdminState('s1', 'drained', 'test');
    expect(worker.snapshot.byName.get('p')!.isSplitBrain).toBe(true);
  });

  it('applies the primary snapshot (through structured clone, as IPC does) to the worker store', () => {
    const primary = primaryStore();
    const worker = new TopologyStore(nodes, { kind: 'physical' });
    const f = new TopologyFollower(worker, () => 1000);
    const wire = structuredClone(topologyToWire(primary.snapshot, (n) => (n === 's1' ? { source: 'replay', problem: null } : null) as never));
    f.apply(wire);
    const s1 = worker.snapshot.byName.get('s1')!;
    expect(s1).toMatchObject({ isUp: true, role: 'replica', rttMs: 2, lagMs: 5, lagBytes: 10, lastProbeAtMs: 1000 });
    expect(s1.seenWrites?.get('p')).toBe(990);
    expect(worker.snapshot.byName.get('p')).toMatchObject({ isUp: true, role: 'master' });
    expect(f.lagStatusOf('s1')).toEqual({ source: 'replay', problem: null });
  });

  it('keeps the worker’s own drain state and skips a repeated or older snapshot', () => {
    const primary = primaryStore();
    const worker = new TopologyStore(nodes, { kind: 'physical' });
    const f = new TopologyFollower(worker, () => 1000);
    f.apply(topologyToWire(primary.snapshot, () => null));
    worker.setAdminState('s1', 'drained', 'test');
    const v = worker.snapshot.version;
    f.apply(topologyToWire(primary.snapshot, () => null)); // same version: skipped
    expect(worker.snapshot.version).toBe(v);
    primary.applyProbe({ node: 's1', isUp: false, lastError: 'gone' });
    f.apply(topologyToWire(primary.snapshot, () => null));
    expect(worker.snapshot.byName.get('s1')).toMatchObject({ isUp: false, state: 'drained', lastError: 'gone' });
  });

  it('readmits a catching-up node once it is up with lag ≤ readmit_max_lag; ignores nodes it does not know', () => {
    const primary = primaryStore();
    const worker = new TopologyStore([nodes[0]!, nodes[1]!], { kind: 'physical' });
    worker.setAdminState('s1', 'catching-up', 'UNDRAIN');
    const f = new TopologyFollower(worker, () => 3);
    const wire = topologyToWire(primary.snapshot, () => null);
    f.apply(wire); // lag 5 > 3
    expect(worker.snapshot.byName.get('s1')!.state).toBe('catching-up');
    primary.applyProbe({ node: 's1', lagMs: 2 });
    const next: WireTopology = topologyToWire(primary.snapshot, () => null);
    f.apply({ ...next, nodes: [...next.nodes, { ...next.nodes[0]!, name: 'unknown-node' }] });
    expect(worker.snapshot.byName.get('s1')!.state).toBe('active');
    expect(worker.snapshot.byName.has('unknown-node')).toBe(false);
  });
});

import { describe, expect, it, vi } from 'vitest';
import { pino } from 'pino';
import { Writable } from 'node:stream';
import type { NodeConfig } from '../../../src/config/types.js';
import type { TopologyEvent } from '../../../src/topology/events.js';
import { TopologyStore } from '../../../src/topology/topology-store.js';
import { waitForRoute } from '../../../src/topology/wait-for-route.js';

const cfg = (name: string, priority = 0): NodeConfig => ({ name, host: '127.0.0.1', port: 5500, region: 'r', location: null, priority });

function setup(kind: 'physical' | 'pglogical' = 'pglogical', nodes = [cfg('a'), cfg('b'), cfg('c')]) {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _e, cb) {
      lines.push(JSON.parse(String(chunk)));
      cb();
    },
  });
  const events: TopologyEvent[] = [];
  let t = 1000;
  const store = new TopologyStore(nodes, { kind, logger: pino({ level: 'info' }, sink), hooks: { onEvent: (e) => events.push(e) }, now: () => t });
  return {
    store,
    events,
    lines,
    tick: (ms: number) => {
      t += ms;
    },
  };
}

const up = (node: string, role: 'master' | 'replica' = 'master') => ({ node, isUp: true, role, lagMs: 0, lastProbeAtMs: 1, failedProbes: 0 });

describe('TopologyStore', () => {
  it('starts with every node down, role unknown, lag unknown, active; version 1', () => {
    const { store } = setup();
    const s = store.snapshot;
    expect(s.version).toBe(1);
    expect(s.nodes.map((n) => [n.name, n.isUp, n.role, n.lagMs, n.state])).toEqual([
      ['a', false, 'unknown', null, 'active'],
      ['b', false, 'unknown', null, 'active'],
      ['c', false, 'unknown', null, 'active'],
    ]);
    expect(Object.isFrozen(s) && Object.isFrozen(s.nodes) && Object.isFrozen(s.nodes[0])).toBe(true);
  });

  it('replaces the snapshot whole on every change, version strictly increasing; old snapshots unchanged', () => {
    const { store } = setup();
    const s1 = store.snapshot;
    const s2 = store.applyProbe(up('a'));
    expect(s2).not.toBe(s1);
    expect(s2.version).toBe(2);
    expect(s1.byName.get('a')?.isUp).toBe(false);
    expect(s2.byName.get('a')?.isUp).toBe(true);
    expect(s2.byName.get('b')).toBe(s1.byName.get('b')); // untouched nodes are shared
  });

  it('logs state changes once, with stable phrases and reasons', () => {
    const { store, lines, events } = setup();
    store.applyProbe({ ...up('a'), reason: 'first probe passed' });
    store.applyProbe({ node: 'a', rttMs: 3 }); // no state change: no log line
    store.applyProbe({ node: 'a', isUp: false, failedProbes: 2, lastError: 'connection refused', reason: '2 failed probes: connection refused' });
    store.applyProbe({ ...up('a'), reason: '2 probes passed' });
    expect(store.evict('a', 'connection reset on live traffic')).toBe(true);
    expect(store.evict('a', 'again')).toBe(false); // already out: logged once
    expect(lines.map((l) => [l.msg, l.node, l.reason])).toEqual([
      ['node up', 'a', 'first probe passed'],
      ['role changed', 'a', undefined],
      ['node down', 'a', '2 failed probes: connection refused'],
      ['node up', 'a', '2 probes passed'],
      ['node evicted', 'a', 'connection reset on live traffic'],
    ]);
    expect(events.filter((e) => e.type === 'node-evicted')).toHaveLength(1);
    expect(store.snapshot.byName.get('a')?.lastError).toBe('evicted: connection reset on live traffic');
  });

  it('setAdminState changes state, logs the phrase, ignores no-ops', () => {
    const { store, lines } = setup();
    expect(store.setAdminState('b', 'draining', 'DRAIN b')).toBe(true);
    expect(store.setAdminState('b', 'draining', 'DRAIN b')).toBe(false);
    store.setAdminState('b', 'drained', 'no transactions left');
    store.setAdminState('b', 'catching-up', 'UNDRAIN b');
    store.setAdminState('b', 'active', 'caught up');
    expect(lines.map((l) => l.msg)).toEqual(['node draining', 'node drained', 'node catching up', 'node readmitted']);
    expect(store.setAdminState('ghost', 'draining', 'x')).toBe(false);
  });

  it('emits "master changed" only after every node was probed (start-up is not a failover)', () => {
    const { store, events } = setup();
    store.applyProbes([up('a'), up('b'), up('c')]);
    expect(events.some((e) => e.type === 'master-changed')).toBe(false);
    store.evict('a', 'connection refused');
    expect(events.filter((e) => e.type === 'master-changed')).toEqual([{ type: 'master-changed', before: ['a', 'b', 'c'], after: ['b', 'c'] }]);
  });

  it('physical split brain: the higher priority keeps writes; logged; never alternates', () => {
    const { store, events, lines } = setup('physical', [cfg('p', 0), cfg('s1', 10)]);
    store.applyProbes([up('p'), up('s1', 'replica')]);
    store.applyProbe(up('s1')); // s1 promoted while p still claims master
    const s = store.snapshot;
    expect(s.byName.get('p')?.isSplitBrain).toBe(true);
    expect(s.byName.get('s1')?.isSplitBrain).toBe(false);
    expect(events).toContainEqual({ type: 'split-brain', node: 'p', preferred: 's1' });
    expect(lines.find((l) => l.msg === 'split brain')?.reason).toContain('writes stay on s1');
    for (let i = 0; i < 5; i++) store.applyProbes([up('p'), up('s1')]);
    expect(store.snapshot.byName.get('p')?.isSplitBrain).toBe(true);
    expect(events.filter((e) => e.type === 'split-brain')).toHaveLength(1);
  });

  it('physical split brain on equal priority: the incumbent master keeps writes (stale old primary loses)', () => {
    const { store } = setup('physical', [cfg('old'), cfg('s1')]);
    store.applyProbes([up('old'), up('s1', 'replica')]);
    store.applyProbe({ node: 'old', isUp: false, failedProbes: 2 });
    store.applyProbe(up('s1')); // promoted; sole master → incumbent
    store.applyProbe(up('old')); // old primary returns, still claiming master
    expect(store.snapshot.byName.get('old')?.isSplitBrain).toBe(true);
    expect(store.snapshot.byName.get('s1')?.isSplitBrain).toBe(false);
  });

  it('equal priority, no incumbent: config order decides', () => {
    const { store } = setup('physical', [cfg('x'), cfg('y')]);
    store.applyProbes([up('x'), up('y')]);
    expect(store.snapshot.byName.get('y')?.isSplitBrain).toBe(true);
  });

  it('no split-brain flags for active-active kinds', () => {
    const { store } = setup('pglogical');
    store.applyProbes([up('a'), up('b')]);
    expect(store.snapshot.nodes.some((n) => n.isSplitBrain)).toBe(false);
  });

  it('hot reload: add, remove, address change', () => {
    const { store, lines } = setup();
    store.applyProbe(up('a'));
    const r = store.setNodes([{ ...cfg('a'), priority: 3 }, { ...cfg('b'), port: 6000 }, cfg('d')]);
    expect(r).toEqual({ added: ['b', 'd'], removed: ['c', 'b'] });
    const s = store.snapshot;
    expect(s.nodes.map((n) => n.name)).toEqual(['a', 'b', 'd']);
    expect(s.byName.get('a')).toMatchObject({ isUp: true, priority: 3 });
    expect(s.byName.get('b')).toMatchObject({ isUp: false, port: 6000 });
    expect(lines.map((l) => l.msg)).toContain('node removed');
    expect(store.addNode(cfg('e'))).toBe(true);
    expect(store.removeNode('e', 'gone')).toBe(true);
  });

  it('listeners see every snapshot; a throwing listener does not stop the others', () => {
    const { store } = setup();
    const seen: number[] = [];
    store.onChange(() => {
      throw new Error('boom');
    });
    const off = store.onChange((s, prev) => seen.push(s.version - prev.version));
    store.applyProbe(up('a'));
    off();
    store.applyProbe(up('b'));
    expect(seen).toEqual([1]);
  });

  it('waitForChange resolves with the next snapshot, or null on timeout', async () => {
    vi.useFakeTimers();
    try {
      const { store } = setup();
      const p = store.waitForChange(1000);
      store.applyProbe(up('a'));
      expect((await p)?.version).toBe(2);
      const q = store.waitForChange(500);
      vi.advanceTimersByTime(500);
      expect(await q).toBeNull();
    } finally {
      vi.useRealTimers();
    }
  });

  it('waitForRoute retries on each change until a master appears, within write_wait', async () => {
    const { store } = setup();
    const decide = (s: typeof store.snapshot) => {
      const m = s.nodes.find((n) => n.isUp && n.role === 'master');
      return m ? { ok: true as const, node: m.name, reason: 'x' } : { ok: false as const, refusal: 'no-master' as const, reason: 'none' };
    };
    const p = waitForRoute(store, decide, 2000);
    setTimeout(() => store.applyProbe({ node: 'b', lagMs: 0 }), 5); // unrelated change
    setTimeout(() => store.applyProbe(up('c')), 10);
    expect(await p).toMatchObject({ ok: true, node: 'c' });
    const t0 = Date.now();
    expect(await waitForRoute(setup().store, decide, 50)).toMatchObject({ ok: false, refusal: 'no-master' });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(45);
  });
});

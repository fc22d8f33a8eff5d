// The operator page's event ring (src/admin/event-log.ts): newest first, bounded (the oldest is
// overwritten), one line per event kind; and the topology store feeds it through onEvent.
import { describe, expect, it } from 'vitest';
import { describeEvent, EventLog } from '../../../src/admin/event-log.js';
import { TopologyStore } from '../../../src/topology/topology-store.js';
import type { TopologyEvent } from '../../../src/topology/events.js';

const down = (node: string): TopologyEvent => ({ type: 'node-down', node, reason: 'connection refused' });

describe('EventLog', () => {
  it('lists newest first and keeps only the last `capacity` events', () => {
    const log = new EventLog(3);
    expect(log.list()).toEqual([]);
    for (let i = 1; i <= 5; i++) log.record(down(`n${i}`), 1000 + i);
    const kept = log.list();
    expect(kept.map((e) => [e.seq, e.node, e.atMs])).toEqual([
      [5, 'n5', 1005],
      [4, 'n4', 1004],
      [3, 'n3', 1003],
    ]);
    expect(kept[0]!.text).toBe('n5 down: connection refused');
  });

  it('holds 50 by default, however many arrive', () => {
    const log = new EventLog();
    for (let i = 0; i < 1000; i++) log.record(down('n1'), i);
    expect(log.list()).toHaveLength(50);
    expect(log.list()[49]!.seq).toBe(951);
  });

  it('refuses a capacity that is not a positive integer', () => {
    expect(() => new EventLog(0)).toThrow(/positive integer/);
  });

  it('words failovers and drains', () => {
    expect(describeEvent({ type: 'master-changed', before: ['n1'], after: [] })).toEqual({ kind: 'failover', node: null, text: 'masters n1 → none' });
    expect(describeEvent({ type: 'split-brain', node: 'n2', preferred: 'n1' }).text).toBe(
      'split brain: n2 claims master while n1 is master; writes stay on n1',
    );
    expect(describeEvent({ type: 'state-changed', node: 'n1', from: 'active', to: 'draining', reason: 'DRAIN' })).toEqual({
      kind: 'drain',
      node: 'n1',
      text: 'drain of n1 started (DRAIN)',
    });
    expect(describeEvent({ type: 'state-changed', node: 'n1', from: 'draining', to: 'drained', reason: 'no work left' }).text).toBe(
      'n1 drained (no work left)',
    );
    expect(describeEvent({ type: 'state-changed', node: 'n1', from: 'drained', to: 'catching-up', reason: 'UNDRAIN' }).text).toBe(
      'n1 undrained (UNDRAIN), catching up',
    );
    expect(describeEvent({ type: 'role-changed', node: 'n1', from: 'replica', to: 'master' })).toMatchObject({
      kind: 'health',
      text: 'n1 role replica → master',
    });
  });

  it('is fed by the topology store: a node going down, a drain, a master change', () => {
    const store = new TopologyStore(
      ['n1', 'n2'].map((name) => ({ name, host: '127.0.0.1', port: 1, region: 'r', location: null, priority: 0 })),
      { kind: 'pglogical' },
    );
    const log = new EventLog();
    const stop = store.onEvent((ev) => log.record(ev, 0));
    store.applyProbes([
      { node: 'n1', isUp: true, role: 'master', lastProbeAtMs: 1 },
      { node: 'n2', isUp: true, role: 'master', lastProbeAtMs: 1 },
    ]);
    store.applyProbe({ node: 'n1', isUp: false, reason: 'probe timed out' });
    store.setAdminState('n2', 'draining', 'DRAIN');
    stop();
    store.setAdminState('n2', 'drained', 'no work left'); // after unsubscribing: not recorded
    const types = log.list().map((e) => e.type);
    expect(types.slice(0, 3)).toEqual(['state-changed', 'master-changed', 'node-down']);
    expect(log.list()[1]!.text).toBe('masters n1, n2 → n2');
    expect(types).not.toContain(undefined);
    expect(log.list().filter((e) => e.type === 'state-changed')).toHaveLength(1);
  });
});

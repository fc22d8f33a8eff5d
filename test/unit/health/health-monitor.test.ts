// HealthMonitor on a fake clock with scripted probe channels: thresholds in time, passive
// eviction, readmission after undrain, physical promotion, heartbeat lag end to end.
import { afterEach, describe, expect, it } from 'vitest';
import { HealthMonitor } from '../../../src/health/health-monitor.js';
import type { TopologyEvent } from '../../../src/topology/events.js';
import { FakeClock, raw, scriptedConnector, testConfig, type Script } from './fake-health.js';

let monitor: HealthMonitor | null = null;
afterEach(async () => {
  await monitor?.stop();
  monitor = null;
});

function start(script: Script, kind: 'physical' | 'pglogical' = 'physical') {
  const clock = new FakeClock();
  const { connect, probes } = scriptedConnector(clock, script);
  const events: (TopologyEvent & { at: number })[] = [];
  const counts = { probeFailures: 0, evictions: 0, failovers: 0 };
  const counters = {
    probeFailures: {
      inc: () => {
        counts.probeFailures++;
      },
    },
    evictions: {
      inc: () => {
        counts.evictions++;
      },
    },
    failovers: {
      inc: () => {
        counts.failovers++;
      },
    },
  };
  monitor = new HealthMonitor(testConfig(kind), undefined, counters, {
    clock,
    connect,
    random: () => 0.5,
    hooks: { onEvent: (e) => events.push({ ...e, at: clock.now() }) },
  });
  monitor.start();
  return { m: monitor, clock, probes, events, counts };
}

const primary = () => raw({ currentLsn: 1000 });
const standby = () => raw({ inRecovery: true, receiveLsn: 1000, replayLsn: 1000, replayAgeMs: 5 });

describe('HealthMonitor', () => {
  it('brand-new nodes are up right after their first good probe', async () => {
    const { m, clock } = start((n) => (n === 'a' ? primary() : standby()));
    await clock.advance(20);
    expect(m.snapshot.nodes.map((n) => [n.name, n.isUp, n.role, n.lagMs])).toEqual([
      ['a', true, 'master', 0],
      ['b', true, 'replica', 0],
    ]);
    expect(await m.waitReady(0)).toBe(true);
  });

  it('a stopped node is out after `fall` probes, within fall × interval (fast interval while failing)', async () => {
    let isStopped = false;
    const { m, clock, events, counts } = start((n) =>
      n === 'a' && isStopped ? Object.assign(new Error('x'), { code: 'ECONNREFUSED' }) : n === 'a' ? primary() : standby(),
    );
    await clock.advance(5000);
    const stoppedAt = clock.now();
    isStopped = true;
    await clock.advance(3000);
    const down = events.find((e) => e.type === 'node-down');
    expect(down).toMatchObject({ node: 'a', reason: '2 failed probes: connection refused' });
    expect((down as { at: number }).at - stoppedAt).toBeLessThanOrEqual(1000 + 250); // ≤ interval + fast interval
    expect(m.snapshot.byName.get('a')).toMatchObject({ isUp: false, failedProbes: expect.any(Number), lastError: 'connection refused' });
    expect(counts.evictions).toBe(1);
    expect(counts.probeFailures).toBeGreaterThanOrEqual(2);
  });

  it('a restarted node is back after `rise` good probes, probing fast meanwhile', async () => {
    let isStopped = true;
    const { m, clock, events, probes } = start((n) => (n === 'a' && isStopped ? new Error('connection refused') : n === 'a' ? primary() : standby()));
    await clock.advance(3000);
    expect(m.snapshot.byName.get('a')?.isUp).toBe(false);
    isStopped = false;
    const t0 = clock.now();
    await clock.advance(3000);
    const up = events.find((e) => e.type === 'node-up' && e.node === 'a');
    expect(up).toMatchObject({ reason: '2 probes passed' });
    const good = (probes.a ?? []).filter((t) => t >= t0);
    expect((good[1] ?? Infinity) - (good[0] ?? 0)).toBe(250); // second probe on the fast interval
  });

  it('reportFailure evicts at once, probes immediately, and only `rise` probes readmit', async () => {
    const { m, clock, probes, events } = start((n) => (n === 'a' ? primary() : standby()));
    await clock.advance(2000);
    const before = probes.a?.length ?? 0;
    m.reportFailure('a', 'connection reset on live traffic');
    expect(m.snapshot.byName.get('a')).toMatchObject({ isUp: false, lastError: 'evicted: connection reset on live traffic' });
    expect(events.filter((e) => e.type === 'node-evicted')).toHaveLength(1);
    await clock.advance(0);
    expect(probes.a?.length).toBe(before + 1); // immediate probe
    expect(m.snapshot.byName.get('a')?.isUp).toBe(false); // one good probe is not enough
    await clock.advance(250);
    expect(m.snapshot.byName.get('a')?.isUp).toBe(true);
  });

  it('catching-up becomes active once up with lag ≤ readmit_max_lag', async () => {
    let replayAgeMs = 5000;
    const { m, clock } = start((n) => (n === 'a' ? primary() : raw({ inRecovery: true, receiveLsn: 2000, replayLsn: 900, replayAgeMs })));
    await clock.advance(20);
    m.store.setAdminState('b', 'catching-up', 'UNDRAIN b');
    await clock.advance(2000);
    expect(m.snapshot.byName.get('b')).toMatchObject({ state: 'catching-up', lagMs: 5000 });
    replayAgeMs = 300;
    await clock.advance(1000);
    expect(m.snapshot.byName.get('b')).toMatchObject({ state: 'active', lagMs: 300 });
  });

  it('physical: a promoted standby takes over as master once the old primary stops', async () => {
    let aStopped = false;
    let bPromoted = false;
    const { m, clock, events, counts } = start((n) => {
      if (n === 'a') return aStopped ? new Error('connection refused') : primary();
      return bPromoted ? raw({ currentLsn: 2000 }) : standby();
    });
    await clock.advance(1000);
    bPromoted = true;
    await clock.advance(1000);
    expect(m.snapshot.byName.get('b')).toMatchObject({ role: 'master', isSplitBrain: true }); // a still claims master and is preferred (config order)
    aStopped = true;
    const t0 = clock.now();
    await clock.advance(3000);
    const change = events.find((e) => e.type === 'master-changed' && e.after.join() === 'b');
    expect(change).toBeDefined();
    expect((change as { at: number }).at - t0).toBeLessThanOrEqual(2 * 1000 + 1000);
    expect(m.snapshot.byName.get('b')).toMatchObject({ isSplitBrain: false, role: 'master' });
    expect(counts.failovers).toBeGreaterThanOrEqual(1);
  });

  it('pglogical: heartbeat lag is unknown until rows are seen, ~0 while replicating, grows while a link is cut', async () => {
    // Fake replication: every node's table; a write on X reaches Y unless X→Y is cut.
    const tables: Record<string, Map<string, number>> = { a: new Map(), b: new Map() };
    const cut = new Set<string>();
    const { m, clock } = start((n, hb) => {
      if (hb !== null) {
        tables[n]?.set(n, hb.tsMs);
        for (const peer of Object.keys(tables)) if (peer !== n && !cut.has(`${n}->${peer}`)) tables[peer]?.set(n, hb.tsMs);
      }
      return raw({ heartbeat: new Map(tables[n]), heartbeatWrittenTs: hb?.tsMs ?? null });
    }, 'pglogical');
    await clock.advance(20);
    expect(m.snapshot.byName.get('a')?.lagMs).toBeNull(); // probed before b: b's rows not seen yet
    await clock.advance(3000);
    expect(m.snapshot.nodes.map((n) => n.lagMs)).toEqual([0, 0]);
    cut.add('a->b');
    await clock.advance(5000);
    const lagB = m.snapshot.byName.get('b')?.lagMs ?? -1;
    expect(lagB).toBeGreaterThanOrEqual(3000);
    expect(m.snapshot.byName.get('a')?.lagMs).toBe(0);
    cut.delete('a->b');
    await clock.advance(2000);
    expect(m.snapshot.byName.get('b')?.lagMs).toBe(0);
  });

  it('stop() ends probing', async () => {
    const { m, clock, probes } = start(() => primary());
    await clock.advance(1000);
    await m.stop();
    monitor = null;
    const n = probes.a?.length;
    await clock.advance(5000);
    expect(probes.a?.length).toBe(n);
  });

  it("read-your-writes: a standby's watermark is the newest primary probe time its replay covers", async () => {
    let replayed = 0;
    // The primary's WAL insert position is its clock; the standby replays up to `replayed`.
    const { m, clock } = start((n, _hb, now) =>
      n === 'a'
        ? raw({ sentAtMs: now, currentLsn: now, insertLsn: now })
        : raw({ sentAtMs: now, inRecovery: true, receiveLsn: replayed, replayLsn: replayed, replayAgeMs: 5 }),
    );
    await clock.advance(5_000);
    expect(m.snapshot.byName.get('b')?.seenWrites ?? null).toBeNull(); // nothing replayed yet
    const primaryProbes = () => m.snapshot.byName.get('a')!.lastProbeAtMs!;
    replayed = primaryProbes();
    await clock.advance(2_500);
    const seen = m.snapshot.byName.get('b')?.seenWrites?.get('a');
    expect(seen).toBeDefined();
    expect(seen).toBeLessThanOrEqual(replayed);
    expect(seen).toBeGreaterThan(replayed - 1_500); // the mark at or just before the replayed position
    expect(m.snapshot.byName.get('a')?.seenWrites ?? null).toBeNull(); // the primary needs none
  });
});

// Issue 14, finding 17: a heartbeat table that does not replicate (pglogical missing from
// health.database, no table, rows that never arrive) is named as the node's lag problem, logged
// once per change (not every probe), and when lag stays unknown on every node the monitor says
// that reads follow writes, once, and counts it.
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { HealthMonitor } from '../../../src/health/health-monitor.js';
import { NO_WRITER, type HeartbeatPeer } from '../../../src/health/heartbeat-lag.js';
import { lagStatus, type LagProblemInput } from '../../../src/health/lag-problem.js';
import { kindPlugin } from '../../../src/cluster/kinds/index.js';
import { FakeClock, raw, scriptedConnector, testConfig, type Script } from './fake-health.js';

const base: LagProblemInput = {
  kind: kindPlugin('pglogical'),
  database: 'postgres',
  table: 'meridian_heartbeat',
  intervalMs: 1000,
  self: 'a',
  raw: raw({ heartbeat: new Map([['a', 1]]) }),
  lagMs: null,
  peers: [],
};
const writtenPeer = (name: string, startMs: number): HeartbeatPeer => ({
  name,
  isUp: true,
  role: 'master',
  hasProbed: true,
  writer: { streakStartMs: startMs, last: { ts: startMs, confirmedAtMs: startMs }, prev: null },
});

describe('lagStatus', () => {
  it('pglogical missing from health.database names the setting', () => {
    const s = lagStatus({ ...base, raw: raw({ heartbeat: new Map(), isPglogicalMissing: true }) });
    expect(s.source).toBe('heartbeat');
    expect(s.problem).toMatch(/pglogical is not installed in database "postgres" \(health\.database\).*Set health\.database/);
  });

  it('no heartbeat table: run init-heartbeat', () => {
    expect(lagStatus({ ...base, raw: raw({ heartbeat: null }) }).problem).toMatch(/missing or unreadable in database "postgres".*init-heartbeat/);
  });

  it('peer rows that never arrive, well past the grace: the table is not replicated', () => {
    const peers = [writtenPeer('b', 0), writtenPeer('c', 0), { ...writtenPeer('down', 0), isUp: false }];
    const late = raw({ sentAtMs: 10_000, heartbeat: new Map([['a', 9_000]]) });
    expect(lagStatus({ ...base, raw: late, peers }).problem).toMatch(
      /rows Meridian writes on b, c never arrive in table meridian_heartbeat of database "postgres" \(health\.database\)/,
    );
    // Still within start-up: no verdict yet; a known lag: no problem.
    expect(lagStatus({ ...base, raw: raw({ sentAtMs: 2_000, heartbeat: new Map() }), peers }).problem).toBeNull();
    expect(lagStatus({ ...base, raw: late, peers, lagMs: 0 }).problem).toBeNull();
    expect(lagStatus({ ...base, raw: late, peers: [{ ...writtenPeer('b', 0), writer: NO_WRITER }] }).problem).toBeNull();
  });

  it('lag sources per kind', () => {
    expect(lagStatus({ ...base, kind: kindPlugin('physical') })).toEqual({ source: 'wal', problem: null });
    expect(lagStatus({ ...base, kind: kindPlugin('logical') }).source).toBe('pg_stat_replication');
    expect(lagStatus({ ...base, kind: kindPlugin('spock'), raw: raw({ spockLag: [] }) }).source).toBe('spock.lag_tracker');
    expect(lagStatus({ ...base, kind: kindPlugin('spock'), raw: raw({ heartbeat: null }) }).problem).toMatch(/init-heartbeat/);
  });
});

let monitor: HealthMonitor | null = null;
afterEach(async () => {
  await monitor?.stop();
  monitor = null;
});

function start(script: Script) {
  const clock = new FakeClock();
  const { connect } = scriptedConnector(clock, script);
  const lines: { msg: string; node?: string; problem?: string; problems?: string[] }[] = [];
  const sink = new Writable({
    write(chunk, _e, done) {
      lines.push(JSON.parse(String(chunk)));
      done();
    },
  });
  const counts = { fallbacks: 0, gauge: -1 };
  const counters = {
    readFallbacks: {
      inc: () => {
        counts.fallbacks++;
      },
    },
    readsFollowWrites: {
      set: (v: number) => {
        counts.gauge = v;
      },
    },
  };
  monitor = new HealthMonitor(testConfig('pglogical'), pino({ level: 'info' }, sink), counters, { clock, connect, random: () => 0.5 });
  monitor.start();
  return { m: monitor, clock, lines, counts };
}

describe('HealthMonitor: a heartbeat table that does not replicate', () => {
  it('names the cause per node once, says once that reads follow writes, counts it, and recovers', async () => {
    // Each node's table holds only its own row unless replication is on.
    let isReplicated = false;
    const tables: Record<string, Map<string, number>> = { a: new Map(), b: new Map() };
    const { m, clock, lines, counts } = start((n, hb) => {
      if (hb !== null) {
        tables[n]?.set(n, hb.tsMs);
        if (isReplicated) for (const peer of Object.keys(tables)) if (peer !== n) tables[peer]?.set(n, hb.tsMs);
      }
      return raw({ heartbeat: new Map(tables[n]), heartbeatWrittenTs: hb?.tsMs ?? null });
    });
    await clock.advance(2_500);
    expect(counts.fallbacks).toBe(0); // start-up: lag not known yet is no misconfiguration
    await clock.advance(20_000);
    expect(m.snapshot.nodes.map((n) => n.lagMs)).toEqual([null, null]);
    expect(m.lagStatusOf('a')?.problem).toMatch(/rows Meridian writes on b never arrive.*health\.database/);
    expect(m.readsFollowWrites).toBe(true);
    expect(counts).toEqual({ fallbacks: 1, gauge: 1 });
    const warnings = lines.filter((l) => l.msg === 'lag cannot be measured');
    expect(warnings.map((l) => l.node).sort()).toEqual(['a', 'b']); // once per node, not per probe
    const fallbackLogs = lines.filter((l) => l.msg.startsWith('lag unknown on every node'));
    expect(fallbackLogs).toHaveLength(1);
    expect(fallbackLogs[0]?.problems?.join(' ')).toMatch(/a: heartbeat rows.*b: heartbeat rows/);
    console.log(`log lines over 22.5 s of probes at 1 s: ${lines.length}`);

    isReplicated = true;
    await clock.advance(5_000);
    expect(m.snapshot.nodes.map((n) => n.lagMs)).toEqual([0, 0]);
    expect(m.lagStatusOf('a')).toEqual({ source: 'heartbeat', problem: null });
    expect(m.readsFollowWrites).toBe(false);
    expect(counts).toEqual({ fallbacks: 1, gauge: 0 });
    expect(lines.filter((l) => l.msg === 'lag measured again')).toHaveLength(2);
  });

  it('pglogical missing from health.database is reported from the first probe', async () => {
    const { m, clock, lines } = start(() => raw({ heartbeat: new Map(), isPglogicalMissing: true }));
    await clock.advance(3_000);
    expect(m.lagStatusOf('b')?.problem).toMatch(/pglogical is not installed in database "app" \(health\.database\)/);
    expect(lines.filter((l) => l.msg === 'lag cannot be measured')).toHaveLength(2);
  });
});

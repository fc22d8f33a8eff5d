// Issue 16, cluster kinds as plug-ins: every registered kind implements the one interface
// consistently — its probe SQL parses as PostgreSQL, every column it selects is one the probe
// parser reads, its role, lag and watermark rules agree with its flags, its defaults are the
// documented ones — and the registry, the ClusterKind list, the schema and the settings table
// name the same kinds. A new kind gets all of this by being registered.
import { loadModule, parseSync } from 'libpg-query';
import { beforeAll, describe, expect, it } from 'vitest';
import { CLUSTER_KIND_NAMES, KIND_PLUGINS, kindPlugin } from '../../../src/cluster/kinds/index.js';
import type { ClusterKindPlugin } from '../../../src/cluster/kind-plugin.js';
import { SETTINGS } from '../../../src/config/settings-table.js';
import type { LagContext, LagPeer } from '../../../src/health/node-lag.js';
import { parseProbeRow, type RawProbe } from '../../../src/health/probe-result.js';
import { buildProbeSql, type ProbeCapabilities } from '../../../src/health/probe-sql.js';
import { load, loadError, MINIMAL } from '../config/helpers.js';
import { raw } from '../health/fake-health.js';
import { node } from '../router/fixtures.js';

const PLUGINS: readonly ClusterKindPlugin[] = CLUSTER_KIND_NAMES.map((k) => KIND_PLUGINS[k]);

/** Every combination of what discovery may find on a node. */
function allCaps(): ProbeCapabilities[] {
  const out: ProbeCapabilities[] = [];
  for (const hasHeartbeatTable of [true, false])
    for (const canWriteHeartbeat of [true, false])
      for (const hasPglogical of [true, false])
        for (const hasSpockLagTracker of [true, false])
          out.push({ hasHeartbeatTable, canWriteHeartbeat, hasPglogical, hasSpockLagTracker, serverVersionNum: 150000 });
  return out;
}

/** The keys of the probe's json_build_object, in order. */
function probeKeys(sql: string): string[] {
  return [...sql.matchAll(/^\s*'([a-z_]+)', /gm)].map((m) => m[1] as string);
}

/** The row keys parseProbeRow reads (recorded through a Proxy): the columns it understands. */
function columnsParsed(): Set<string> {
  const seen = new Set<string>();
  const row = new Proxy(
    {},
    {
      get: (_t, k) => {
        if (typeof k === 'string') seen.add(k);
        return undefined;
      },
    },
  );
  parseProbeRow(row as Record<string, unknown>, { sentAtMs: 0, receivedAtMs: 0, elapsedMs: 0 }, null, null, true);
  return seen;
}

function statementsOf(sql: string): Array<Record<string, unknown>> {
  const tree = parseSync(sql) as { stmts: Array<{ stmt: Record<string, unknown> }> };
  return tree.stmts.map((s) => s.stmt);
}

const HB = { node: 'n1', tsMs: 1_700_000_000_000 };
const IDLE_CTX = (self: RawProbe | null): LagContext => ({
  intervalMs: 1000,
  self: { name: 'a', isUp: self !== null, role: 'replica', raw: self },
  others: [],
  wasKnown: false,
  lastCaughtUpAtMs: null,
});

beforeAll(async () => {
  await loadModule();
});

describe('the registry', () => {
  it('maps every kind name to the plug-in of that name, and nothing else', () => {
    expect(Object.keys(KIND_PLUGINS)).toEqual([...CLUSTER_KIND_NAMES]);
    for (const k of CLUSTER_KIND_NAMES) {
      expect(KIND_PLUGINS[k].name).toBe(k);
      expect(kindPlugin(k)).toBe(KIND_PLUGINS[k]);
    }
  });

  it('the config schema and the settings table accept exactly the registered kinds', () => {
    for (const k of CLUSTER_KIND_NAMES) expect(load(MINIMAL.replace('kind: pglogical', `kind: ${k}`)).cluster.kind).toBe(k);
    expect(loadError(MINIMAL.replace('kind: pglogical', 'kind: bucardo')).message).toMatch(/cluster\.kind/);
    expect(SETTINGS.find((s) => s.key === 'cluster.kind')?.type).toBe(CLUSTER_KIND_NAMES.join(' | '));
  });
});

describe.each(PLUGINS.map((p) => [p.name, p] as const))('kind %s', (_name, kind) => {
  it('its probe is one SELECT that PostgreSQL parses, for every capability set, with and without the heartbeat write', () => {
    for (const caps of allCaps()) {
      for (const hb of [null, HB]) {
        const probe = buildProbeSql(kind, caps, 'ops.meridian_heartbeat', hb);
        const stmts = statementsOf(probe.sql);
        expect(stmts).toHaveLength(1);
        const select = stmts[0]?.['SelectStmt'] as Record<string, unknown> | undefined;
        expect(select).toBeDefined();
        expect(select?.['withClause'] !== undefined).toBe(probe.writesHeartbeat);
        // The heartbeat write goes with the heartbeat kinds only, and only where it can be done.
        expect(probe.writesHeartbeat).toBe(hb !== null && kind.usesHeartbeat && caps.hasHeartbeatTable && caps.canWriteHeartbeat);
        expect(probe.params).toEqual(probe.writesHeartbeat ? [HB.node, HB.tsMs] : []);
      }
    }
  });

  it('every column its probe selects is one the probe parser reads, each once', () => {
    const parsed = columnsParsed();
    for (const caps of allCaps()) {
      const keys = probeKeys(buildProbeSql(kind, caps, 'meridian_heartbeat', HB).sql);
      expect(keys.slice(0, 2)).toEqual(['in_recovery', 'read_only']);
      expect(keys[keys.length - 1]).toBe('server_ms');
      expect(new Set(keys).size).toBe(keys.length);
      for (const k of keys) expect(parsed, `${kind.name} selects ${k}`).toContain(k);
      // Heartbeat rows are read by the heartbeat kinds only, where the table exists.
      expect(keys.includes('heartbeat')).toBe(kind.usesHeartbeat && caps.hasHeartbeatTable);
    }
  });

  it('role: a writable node is a master, a node in recovery or read-only a replica', () => {
    const timing = { sentAtMs: 0, receivedAtMs: 0, elapsedMs: 0 };
    const row = (over: Record<string, unknown>) => parseProbeRow({ server_ms: 0, ...over }, timing, null, null, false);
    expect(kind.roleOf(row({ in_recovery: false, read_only: 'off' }))).toBe('master');
    expect(kind.roleOf(row({ in_recovery: true, read_only: 'on' }))).toBe('replica');
    expect(kind.roleOf(row({ in_recovery: false, read_only: 'on' }))).toBe('replica');
  });

  it('lag: a node with no probe has an unknown lag, never 0', () => {
    const lag = kind.lag(IDLE_CTX(null));
    expect(lag.lagMs).toBeNull();
    expect(lag.isCaughtUp).toBe(false);
  });

  it('lag source and watermark follow from usesHeartbeat and tracksWalMarks', () => {
    const rows = new Map([['b', 1_000]]);
    const sources = new Set(['wal', 'pg_stat_replication', 'heartbeat', 'spock.lag_tracker']);
    const hbProbe = raw({ heartbeat: rows });
    expect(sources).toContain(kind.lagSource(hbProbe));
    // A heartbeat kind without another source falls back to the heartbeat; the others never use it.
    expect(kind.lagSource(hbProbe) === 'heartbeat').toBe(kind.usesHeartbeat);
    if (kind.usesHeartbeat) expect(kind.seenWrites(hbProbe, [])).toBe(rows);
    else expect(kind.seenWrites(hbProbe, [])).not.toBe(rows);
    const standby = raw({ inRecovery: true, replayLsn: 200 });
    const marks = [{ name: 'p', marks: [{ atMs: 5, lsn: 100 }] }];
    expect(kind.seenWrites(standby, marks) !== null).toBe(kind.tracksWalMarks);
    if (kind.tracksWalMarks) {
      const keys = probeKeys(buildProbeSql(kind, allCaps()[0] as ProbeCapabilities, 't', null).sql);
      expect(keys).toEqual(expect.arrayContaining(['insert_lsn', 'replay_lsn']));
    }
    // A heartbeat kind's own misconfiguration check says nothing about a healthy probe.
    expect(kind.lagProblem(hbProbe, 'postgres')).toBeNull();
    expect(kind.replicationHint.length).toBeGreaterThan(0);
  });

  it('topology and routing flags agree: one master ⇔ a split-brain rule, reads on masters as a fallback', () => {
    if (kind.isMultiMaster) {
      expect(kind.splitBrain).toBeNull();
      expect(kind.usesHeartbeat).toBe(true);
    }
    expect(kind.defaultReadsOnMasters).toBe(kind.splitBrain !== null ? 'fallback' : 'always');
    expect(kind.serializableReadsNeedMaster).toBe(kind.splitBrain !== null);
    // What any replica refuses as read-only, whatever the kind: retried on a master.
    expect(kind.standbyRefusals).toContain('25006');
    if (kind.splitBrain !== null) {
      const nodes = [node('old', { priority: 0 }), node('new', { priority: 0 }), node('s', { role: 'replica' })];
      expect(kind.splitBrain.preferred(nodes, 'new')).toBe('new');
      expect(kind.splitBrain.preferred(nodes, null)).toBe('old');
      expect(kind.splitBrain.preferred([nodes[0]!, nodes[2]!], 'new')).toBeNull();
    }
  });

  it("routing.reads_on_masters defaults to the plug-in's value, and the settings table says so", () => {
    expect(load(MINIMAL.replace('kind: pglogical', `kind: ${kind.name}`)).routing.readsOnMasters).toBe(kind.defaultReadsOnMasters);
    const doc = SETTINGS.find((s) => s.key === 'routing.reads_on_masters')?.default ?? '';
    const named = doc.match(/(\w+) \((\w+)\)/);
    expect(named).not.toBeNull();
    expect(kind.defaultReadsOnMasters).toBe(named?.[2] === kind.name ? named?.[1] : 'always');
  });

  it('heartbeat setup: an extension goes with a replication set whose SQL parses', () => {
    const setup = kind.heartbeatSetup;
    expect(setup.extension === null).toBe(setup.replicationSet === null);
    expect(setup.note.length).toBeGreaterThan(0);
    if (setup.replicationSet !== null) {
      const rel = `'"ops"."meridian_heartbeat"'::regclass`;
      for (const sql of [setup.replicationSet.memberSql(rel, `'default'`), setup.replicationSet.addSql(rel, `'default'`)]) {
        expect(statementsOf(sql)).toHaveLength(1);
        expect(sql).toContain(`${setup.extension}.`);
      }
    }
  });
});

describe('lag of a heartbeat kind uses the peers it is given', () => {
  it('every heartbeat kind turns the same fresh peer rows into the same known lag', () => {
    const peer: LagPeer = {
      name: 'b',
      isUp: true,
      role: 'master',
      raw: raw(),
      hasProbed: true,
      isPreferredMaster: false,
      writer: { streakStartMs: 0, last: { ts: 10_000, confirmedAtMs: 10_000 }, prev: { ts: 9_000, confirmedAtMs: 9_000 } },
    };
    const self = raw({ sentAtMs: 10_500, receivedAtMs: 10_500, heartbeat: new Map([['b', 10_000]]) });
    const ctx: LagContext = {
      intervalMs: 1000,
      self: { name: 'a', isUp: true, role: 'master', raw: self },
      others: [peer],
      wasKnown: true,
      lastCaughtUpAtMs: null,
    };
    const lags = PLUGINS.filter((k) => k.usesHeartbeat).map((k) => k.lag(ctx).lagMs);
    expect(lags.length).toBeGreaterThan(0);
    for (const l of lags) expect(l).toBe(lags[0]);
    expect(lags[0]).not.toBeNull();
  });
});

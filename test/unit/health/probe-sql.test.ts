import { describe, expect, it } from 'vitest';
import { buildProbeSql as buildFor, quoteLiteral, quoteQualified, type HeartbeatWrite, type ProbeCapabilities } from '../../../src/health/probe-sql.js';
import { parseProbeRow, type RawProbe } from '../../../src/health/probe-result.js';
import { kindPlugin, type ClusterKind } from '../../../src/cluster/kinds/index.js';

/** The probe of a kind and the role it reads, through the kind's plug-in as the prober and monitor use them. */
const buildProbeSql = (kind: ClusterKind, c: ProbeCapabilities, table: string, hb: HeartbeatWrite | null) => buildFor(kindPlugin(kind), c, table, hb);
const roleOf = (kind: ClusterKind, p: RawProbe) => kindPlugin(kind).roleOf(p);

const caps: ProbeCapabilities = { hasHeartbeatTable: true, canWriteHeartbeat: true, hasPglogical: true, hasSpockLagTracker: false, serverVersionNum: 150000 };

describe('probe SQL', () => {
  it('is a single SELECT (one round trip) when no heartbeat is written', () => {
    for (const kind of ['physical', 'logical', 'pglogical', 'spock', 'heartbeat'] as const) {
      const { sql, writesHeartbeat } = buildProbeSql(kind, caps, 'meridian_heartbeat', null);
      expect(writesHeartbeat).toBe(false);
      expect(sql.startsWith('SELECT json_build_object(')).toBe(true);
      expect(sql).not.toContain(';');
      expect(sql).toContain(`'in_recovery', pg_is_in_recovery()`);
      expect(sql).toMatch(/'server_ms', [^\n]*\) AS probe$/); // evaluated last
    }
  });

  it('heartbeat kinds upsert the own row in a CTE of the same single statement, confirmed by RETURNING', () => {
    const tsMs = Date.UTC(2025, 0, 2, 3, 4, 5, 678);
    const { sql, params, writesHeartbeat } = buildProbeSql('pglogical', caps, 'ops.meridian_heartbeat', { node: "o'brien", tsMs });
    expect(writesHeartbeat).toBe(true);
    expect(params).toEqual(["o'brien", tsMs]); // bound, never spliced into the text: one prepared statement
    expect(sql.startsWith('WITH meridian_beat AS (INSERT INTO "ops"."meridian_heartbeat" (node, ts)')).toBe(true);
    expect(sql).toContain('VALUES ($1::text, to_timestamp($2::float8 / 1000))');
    expect(buildProbeSql('pglogical', caps, 'ops.meridian_heartbeat', { node: 'x', tsMs: 1 }).sql).toBe(sql);
    expect(sql).toContain('RETURNING ts');
    expect(sql).toContain(`'beat_ms', (SELECT (extract(epoch FROM ts) * 1000)::float8 FROM meridian_beat)`);
    expect(sql).toContain('FROM "ops"."meridian_heartbeat"');
    expect(sql).not.toContain(';');
  });

  it('never references objects discovery did not find', () => {
    const none = { ...caps, hasHeartbeatTable: false, hasPglogical: false };
    const { sql, writesHeartbeat } = buildProbeSql('pglogical', none, 'meridian_heartbeat', { node: 'a', tsMs: 0 });
    expect(writesHeartbeat).toBe(false);
    expect(sql).not.toContain('meridian_heartbeat');
    expect(sql).not.toContain('pglogical.subscription');
    expect(sql.startsWith('SELECT')).toBe(true);
  });

  it('quotes literals and identifiers', () => {
    expect(quoteLiteral("it's")).toBe("'it''s'");
    expect(quoteQualified('a"b.c')).toBe('"a""b"."c"');
  });
});

describe('probe result', () => {
  const timing = { sentAtMs: 1000, receivedAtMs: 1010, elapsedMs: 10 };
  it('parses the row; network RTT excludes server time; own heartbeat confirmed', () => {
    const r = parseProbeRow(
      {
        in_recovery: false,
        read_only: 'off',
        server_ms: 3.5,
        heartbeat: [
          ['a', 400],
          ['b', 500],
        ],
        slots: [['s1', 12]],
        my_slots: ['s2'],
        beat_ms: 999.9996,
      },
      timing,
      1000,
      null,
      true,
    );
    expect(r.networkRttMs).toBeCloseTo(6.5);
    expect(r.heartbeatWrittenTs).toBe(1000);
    expect(r.heartbeat?.get('b')).toBe(500);
    expect(r.slots).toEqual([{ slot: 's1', bytes: 12 }]);
    expect(roleOf('pglogical', r)).toBe('master');
  });

  it('role: recovery or read-only is a replica; a logical subscriber is a replica; spock.readonly fences', () => {
    const base = { server_ms: 0 };
    expect(roleOf('physical', parseProbeRow({ ...base, in_recovery: true, read_only: 'on' }, timing, null, null, false))).toBe('replica');
    expect(roleOf('pglogical', parseProbeRow({ ...base, in_recovery: false, read_only: 'on' }, timing, null, null, false))).toBe('replica');
    expect(roleOf('logical', parseProbeRow({ ...base, in_recovery: false, read_only: 'off', subscriptions: ['s'] }, timing, null, null, false))).toBe(
      'replica',
    );
    expect(roleOf('spock', parseProbeRow({ ...base, in_recovery: false, read_only: 'off', spock_readonly: 'all' }, timing, null, null, false))).toBe('replica');
    expect(roleOf('spock', parseProbeRow({ ...base, in_recovery: false, read_only: 'off', spock_readonly: 'off' }, timing, null, null, false))).toBe('master');
  });

  it('an unconfirmed heartbeat write is not counted', () => {
    const r = parseProbeRow({ in_recovery: false, read_only: 'off', heartbeat: [['a', 400]], beat_ms: null }, timing, 1000, null, true);
    expect(r.heartbeatWrittenTs).toBeNull();
    const refused = parseProbeRow({ in_recovery: true, read_only: 'on' }, timing, null, 'heartbeat not written: x', true);
    expect(refused.heartbeatError).toBe('heartbeat not written: x');
  });
});

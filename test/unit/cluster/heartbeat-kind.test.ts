// The `heartbeat` kind is how Meridian runs in front of Bucardo multi-master (verified by
// test/integration/bucardo-routing.test.ts): every writable node a master, lag only from the
// heartbeat table, and what it tells an operator whose table does not replicate names Bucardo's
// own commands. The table init-heartbeat creates has the primary key Bucardo requires.
import { describe, expect, it } from 'vitest';
import { kindPlugin } from '../../../src/cluster/kinds/index.js';
import { BUCARDO_HINT } from '../../../src/cluster/kinds/heartbeat.js';
import { heartbeatTableDdl } from '../../../src/health/init-heartbeat-command.js';
import type { HeartbeatPeer } from '../../../src/health/heartbeat-lag.js';
import { lagStatus } from '../../../src/health/lag-problem.js';
import { raw } from '../health/fake-health.js';

describe('kind heartbeat (Bucardo)', () => {
  const kind = kindPlugin('heartbeat');

  it('needs no extension and no replication set: the operator adds the table to the Bucardo sync', () => {
    expect(kind.usesHeartbeat).toBe(true);
    expect(kind.heartbeatSetup.extension).toBeNull();
    expect(kind.heartbeatSetup.replicationSet).toBeNull();
    expect(kind.heartbeatSetup.note).toContain(BUCARDO_HINT);
    expect(BUCARDO_HINT).toMatch(/bucardo add table <table> relgroup=/);
    expect(BUCARDO_HINT).not.toMatch(/herd/); // Bucardo 4's word; 5 has relgroups
  });

  it('init-heartbeat creates the table with the primary key Bucardo requires', () => {
    expect(heartbeatTableDdl('meridian_heartbeat')).toBe('CREATE TABLE IF NOT EXISTS "meridian_heartbeat" (node text PRIMARY KEY, ts timestamptz NOT NULL)');
    expect(heartbeatTableDdl('ops.hb')).toMatch(/^CREATE TABLE IF NOT EXISTS "ops"\."hb" \(node text PRIMARY KEY,/);
  });

  it('tells the operator of a table that does not replicate how to add it to Bucardo', () => {
    const peer = (name: string): HeartbeatPeer => ({
      name,
      isUp: true,
      role: 'master',
      hasProbed: true,
      writer: { streakStartMs: 0, last: { ts: 0, confirmedAtMs: 0 }, prev: null },
    });
    const status = lagStatus({
      kind,
      database: 'app',
      table: 'meridian_heartbeat',
      intervalMs: 1000,
      self: 'n1',
      raw: raw({ sentAtMs: 10_000, heartbeat: new Map([['n1', 9_000]]) }),
      lagMs: null,
      peers: [peer('n2'), peer('n3')],
    });
    expect(status.source).toBe('heartbeat');
    expect(status.problem).toMatch(/rows Meridian writes on n2, n3 never arrive in table meridian_heartbeat/);
    expect(status.problem).toContain("bucardo add table <table> relgroup=<your sync's relgroup>', then 'bucardo restart'");
  });
});

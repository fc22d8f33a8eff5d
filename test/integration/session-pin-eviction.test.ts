// Issue 5: a pinned session whose node goes away gets 08006 (its temp table, lock or LISTEN are
// gone with the server: carrying on elsewhere would be wrong), while sessions that are not pinned
// keep working on the other nodes. Stops the primary, so it runs on a cluster of its own.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { startPrimaryStandby, uniqueName, waitFor, type PhysicalCluster } from '../support/cluster.js';
import { startMeridian, type RunningMeridian } from '../helpers/meridian.js';

describe('a pinned session whose node is lost', () => {
  let cluster: PhysicalCluster;
  let mer: RunningMeridian;

  beforeAll(async () => {
    cluster = await startPrimaryStandby({ standbys: 1 });
    mer = await startMeridian(cluster, { pool: 'mode: transaction, size: 4, queue_timeout: 10s' });
  });

  afterAll(async () => {
    await mer?.stop();
    await cluster?.stop();
  });

  it('gets 08006 and is closed, while an unpinned session keeps reading from the standby', async () => {
    const app = uniqueName('pinned');
    const pinned = new pg.Client({ connectionString: mer.dsn(), application_name: app });
    const errors: Array<{ code?: string; message: string }> = [];
    pinned.on('error', (e) => errors.push(e as never));
    await pinned.connect();
    const reader = new pg.Client(mer.dsn());
    await reader.connect();
    try {
      await pinned.query('create temp table t_pin(a int); insert into t_pin values (1)');
      expect((await pinned.query('select inet_server_port() as port')).rows[0].port).toBe(cluster.primary.port);
      const s = [...mer.m.sessions.values()].find((x) => x.ident.applicationName === app)!;
      expect(s.state.isPinned).toBe(true);
      expect((await reader.query('select inet_server_port() as port')).rows[0].port).toBe(cluster.standbys[0]!.port);

      await cluster.primary.stop('immediate');
      // The pinned session learns it at once (its backend closed) or at its next statement.
      const next = await pinned.query('select count(*) from t_pin').then(
        () => null,
        (e: { code?: string; message: string }) => e,
      );
      const all = [...errors, ...(next === null ? [] : [next])];
      expect(
        all.some((e) => e.code === '08006'),
        JSON.stringify(all.map((e) => [e.code, e.message])),
      ).toBe(true);
      await waitFor(() => ![...mer.m.sessions.values()].includes(s), { what: 'the pinned session closed', timeoutMs: 10_000 });

      // Not pinned: reads go on, on the standby.
      for (let i = 0; i < 5; i++) {
        expect((await reader.query('select inet_server_port() as port, 1 as one')).rows[0]).toEqual({ port: cluster.standbys[0]!.port, one: 1 });
      }
    } finally {
      await pinned.end().catch(() => {});
      await reader.end().catch(() => {});
    }
  }, 90_000);
});

// Read-your-writes with synchronous streaming replication (routing.trust_sync_standbys), on a
// primary + one streaming standby named in synchronous_standby_names:
//  * synchronous_commit = remote_apply: the primary acknowledges a commit only once the standby
//    applied it, so Meridian reads right after a write from the standby (found every time);
//  * a session that lowers synchronous_commit (SET … = local) loses that: with the standby's
//    replay paused, its read after a write goes to the primary (the standby lacks the row);
//  * synchronous_commit = on or remote_write (the standby flushed or wrote, not applied): Meridian
//    does not trust the standby; with its replay paused, reads after a write go to the primary.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { startPrimaryStandby, waitFor, type PhysicalCluster } from '../support/cluster.js';
import { startMeridian, type RunningMeridian } from '../helpers/meridian.js';

let cluster: PhysicalCluster;
let mer: RunningMeridian;
let nextId = 1;
const clients: pg.Client[] = [];

const nodeOf = (port: number) => cluster.nodes.find((n) => n.port === Number(port))?.name ?? `port ${port}`;
const s1 = () => mer.m.health.snapshot.byName.get('s1')!;

async function connect(): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: mer.dsn() });
  c.on('error', () => {});
  await c.connect();
  clients.push(c);
  return c;
}

/** An autocommit insert, then at once a read of it: which node served the read, and whether the row was there. */
async function writeThenRead(c: pg.Client): Promise<{ node: string; found: boolean; id: number }> {
  const id = nextId++;
  const w = await c.query(`insert into sync_items values (${id}) returning inet_server_port() as p`);
  expect(nodeOf(w.rows[0].p)).toBe('primary');
  const r = await c.query(`select inet_server_port() as p, exists(select 1 from sync_items where id = ${id}) as found`);
  return { node: nodeOf(r.rows[0].p), found: r.rows[0].found as boolean, id };
}

async function setSyncCommit(level: string): Promise<void> {
  await cluster.primary.query(`alter system set synchronous_commit = '${level}'`);
  await cluster.primary.query('select pg_reload_conf()');
}

beforeAll(async () => {
  cluster = await startPrimaryStandby({ standbys: 1 });
  await cluster.exec('create table sync_items(id int primary key); grant all on sync_items to public');
  await cluster.waitReplayed(60_000);
  await cluster.primary.query("alter system set synchronous_standby_names = 'FIRST 1 (s1)'");
  await setSyncCommit('remote_apply');
  mer = await startMeridian(cluster, {
    kind: 'physical',
    health: 'interval: 200ms, timeout: 2s, rise: 1, fall: 3',
    extraYaml: 'routing: { read_your_writes: true, max_read_lag: 120s, lag_tolerance: 120s, write_wait: 3s }',
  });
  await waitFor(() => s1().syncAppliedFrom === 'primary', { timeoutMs: 30_000, what: () => `s1 seen as a remote_apply sync standby: ${JSON.stringify(s1())}` });
}, 120_000);

afterAll(async () => {
  for (const c of clients) await c.end().catch(() => {});
  await mer?.stop();
  await cluster?.stop();
});

describe('read-your-writes on a synchronous standby', () => {
  it('remote_apply: reads right after a write go to the standby and see it, 30 of 30', async () => {
    const c = await connect();
    for (let i = 0; i < 30; i++) expect(await writeThenRead(c)).toMatchObject({ node: 's1', found: true });
  });

  it('a session that lowers synchronous_commit reads its write from the primary', async () => {
    const c = await connect();
    await c.query('set synchronous_commit = local');
    await cluster.pauseReplay('s1');
    try {
      const r = await writeThenRead(c);
      expect(r).toMatchObject({ node: 'primary', found: true });
      const direct = await cluster.nodes.find((n) => n.name === 's1')!.query<{ f: boolean }>(`select exists(select 1 from sync_items where id = ${r.id}) f`);
      expect(direct[0]!.f).toBe(false); // the standby really lacks it
    } finally {
      await cluster.resumeReplay('s1');
    }
  });

  it.each(['on', 'remote_write'])('synchronous_commit = %s: the standby is not trusted; reads after a write go to the primary', async (level) => {
    await setSyncCommit(level);
    try {
      await waitFor(() => s1().syncAppliedFrom === null, { timeoutMs: 30_000, what: 's1 no longer trusted' });
      const c = await connect();
      await cluster.pauseReplay('s1');
      try {
        expect(await writeThenRead(c)).toMatchObject({ node: 'primary', found: true });
      } finally {
        await cluster.resumeReplay('s1');
      }
    } finally {
      await setSyncCommit('remote_apply');
      await waitFor(() => s1().syncAppliedFrom === 'primary', { timeoutMs: 30_000, what: 's1 trusted again' });
    }
  });
});

// Read-your-writes on a primary + one streaming standby, through Meridian, with replay paused on
// the standby so that a stale read is visible:
//  * a session without it reads its own insert from the standby and does not see it (the
//    problem, shown on the same cluster);
//  * with it (routing.read_your_writes: true), the same read right after the write — autocommit
//    or a write transaction over several requests — runs on the primary and sees the row;
//  * once the standby has replayed past the write, the session's reads go back to the standby;
//  * `-c meridian.read_your_writes=off|on` overrides the setting per session, and so does
//    SET meridian.read_your_writes (RESET returns to the startup value); bad values are refused
//    (22023 at startup or for the SET, 0A000 for SET LOCAL) and change nothing.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { startPrimaryStandby, waitFor, type PhysicalCluster } from '../support/cluster.js';
import { ADMIN_PASSWORD, startMeridian, type RunningMeridian } from '../helpers/meridian.js';

let cluster: PhysicalCluster;
let mer: RunningMeridian;
const clients: pg.Client[] = [];
let nextId = 1;

const nodeOf = (port: number) => cluster.nodes.find((n) => n.port === Number(port))?.name ?? `port ${port}`;
const state = () =>
  mer.m.health.snapshot.nodes.map((n) => `${n.name}:${n.role}:lag ${n.lagMs}:seen ${JSON.stringify([...(n.seenWrites ?? new Map())])}`).join(' ');

async function connect(options?: string): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: mer.dsn(), ...(options !== undefined ? { options } : {}) } as pg.ClientConfig);
  c.on('error', () => {});
  await c.connect();
  clients.push(c);
  return c;
}

/** Reads row `id` (autocommit): which node served it and whether the row was there. */
async function readBack(c: pg.Client, id: number): Promise<{ node: string; found: boolean }> {
  const r = await c.query(`select inet_server_port() as p, exists(select 1 from ryw_items where id = ${id}) as found`);
  return { node: nodeOf(r.rows[0].p), found: r.rows[0].found as boolean };
}

async function insert(c: pg.Client): Promise<number> {
  const id = nextId++;
  const r = await c.query(`insert into ryw_items values (${id}) returning inet_server_port() as p`);
  expect(nodeOf(r.rows[0].p)).toBe('primary');
  return id;
}

beforeAll(async () => {
  cluster = await startPrimaryStandby({ standbys: 1 });
  await cluster.exec('create table ryw_items(id int primary key); grant all on ryw_items to public');
  await cluster.waitReplayed(60_000);
  // max_read_lag and lag_tolerance wide enough that the paused standby stays the read node.
  mer = await startMeridian(cluster, {
    kind: 'physical',
    health: 'interval: 200ms, timeout: 2s, rise: 1, fall: 3',
    extraYaml: 'routing: { read_your_writes: true, max_read_lag: 120s, lag_tolerance: 120s, write_wait: 3s }',
  });
  await waitFor(() => mer.m.health.snapshot.nodes.every((n) => n.isUp && n.lagMs !== null), { timeoutMs: 60_000, what: state });
});

afterAll(async () => {
  for (const c of clients) await c.end().catch(() => {});
  await mer?.stop();
  await cluster?.stop();
});

describe('read-your-writes (physical)', () => {
  it('with replay paused: the opted-out session reads stale from the standby, the others read their write from the primary', async () => {
    const on = await connect(); // routing.read_your_writes: true
    const off = await connect('-c meridian.read_your_writes=off');
    const onByOption = await connect('-c meridian.read_your_writes=on');
    // Before any write, every session reads from the standby.
    for (const c of [on, off, onByOption]) expect((await readBack(c, 0)).node).toBe('s1');
    await cluster.pauseReplay('s1');
    try {
      const idOff = await insert(off);
      expect(await readBack(off, idOff)).toEqual({ node: 's1', found: false }); // the stale read it prevents
      const idOn = await insert(on);
      expect(await readBack(on, idOn)).toEqual({ node: 'primary', found: true });
      const idOpt = await insert(onByOption);
      expect(await readBack(onByOption, idOpt)).toEqual({ node: 'primary', found: true });
      // A write transaction over several requests: the mark is taken at its COMMIT.
      await on.query('begin');
      const id2 = nextId++;
      await on.query(`insert into ryw_items values (${id2})`);
      await on.query('commit');
      expect(await readBack(on, id2)).toEqual({ node: 'primary', found: true });
      // Still on the primary a few probe intervals later: the standby has not replayed it.
      await new Promise((r) => setTimeout(r, 800));
      expect(await readBack(on, id2)).toEqual({ node: 'primary', found: true });
      // EXPLAIN ROUTE says why (the session id is the client's backend PID).
      const admin = new pg.Client({ host: '127.0.0.1', port: mer.port, user: 'admin', password: ADMIN_PASSWORD, database: 'meridian' });
      await admin.connect();
      try {
        const ex = await admin.query(`EXPLAIN ROUTE FOR SESSION ${(on as unknown as { processID: number }).processID} select 1`);
        const rows = new Map(ex.rows.map((r: { field: string; value: string }) => [r.field, r.value]));
        expect(rows.get('node')).toBe('primary');
        expect(rows.get('decision')).toMatch(/read-your-writes/);
        expect(rows.get('read-your-writes')).toMatch(/^last write on primary \d+ ms ago; nodes known to have it: primary$/);
      } finally {
        await admin.end().catch(() => {});
      }
    } finally {
      await cluster.resumeReplay('s1');
    }
    // Replayed: the session's reads go back to the standby, and see the row there.
    await waitFor(async () => (await readBack(on, nextId - 1)).node === 's1', { timeoutMs: 20_000, intervalMs: 100, what: state });
    expect(await readBack(on, nextId - 1)).toEqual({ node: 's1', found: true });
    expect((await readBack(onByOption, 0)).node).toBe('s1');
  });

  it('a read right after a write never misses it, with replay running (50 rounds)', async () => {
    const c = await connect();
    for (let i = 0; i < 50; i++) {
      const id = await insert(c);
      const r = await readBack(c, id);
      expect(r.found, `round ${i}: read on ${r.node} missed row ${id} (${state()})`).toBe(true);
      if (i % 10 === 9) await new Promise((res) => setTimeout(res, 300)); // let some reads go back to the standby
    }
  });

  it("SET meridian.read_your_writes / meridian.route are Meridian's: on, off, RESET, bad values refused (22023, 0A000) without a change", async () => {
    const c = await connect('-c meridian.read_your_writes=off');
    expect((await readBack(c, 0)).node).toBe('s1');
    await cluster.pauseReplay('s1');
    try {
      let id = await insert(c);
      expect(await readBack(c, id)).toEqual({ node: 's1', found: false }); // off (startup option)
      await c.query('SET meridian.read_your_writes = on');
      id = await insert(c);
      expect(await readBack(c, id)).toEqual({ node: 'primary', found: true });
      // Bad values change nothing: still on.
      await expect(c.query('SET meridian.read_your_writes = maybe')).rejects.toMatchObject({ code: '22023' });
      await expect(c.query('SET LOCAL meridian.read_your_writes = off')).rejects.toMatchObject({ code: '0A000' });
      await expect(c.query('SET meridian.route = bogus')).rejects.toMatchObject({ code: '22023' });
      id = await insert(c);
      expect(await readBack(c, id)).toEqual({ node: 'primary', found: true });
      // RESET goes back to the startup option (off), not to the config (on).
      await c.query('RESET meridian.read_your_writes');
      id = await insert(c);
      expect(await readBack(c, id)).toEqual({ node: 's1', found: false });
      // The session route hint: every statement to the primary, then back.
      await c.query('SET meridian.route = master');
      expect((await readBack(c, id)).node).toBe('primary');
      await c.query('RESET meridian.route');
      expect((await readBack(c, id)).node).toBe('s1');
      // In a Query with other statements, the setting takes effect too (after the Query).
      await c.query('SET meridian.read_your_writes = on; SELECT 1');
      id = await insert(c);
      expect(await readBack(c, id)).toEqual({ node: 'primary', found: true });
    } finally {
      await cluster.resumeReplay('s1');
    }
  });

  it('a bad value of the startup option is refused with 22023', async () => {
    const c = new pg.Client({ connectionString: mer.dsn(), options: '-c meridian.read_your_writes=maybe' } as pg.ClientConfig);
    c.on('error', () => {});
    const err = await c.connect().then(
      () => null,
      (e: { code?: string; message: string }) => e,
    );
    expect(err).toMatchObject({ code: '22023' });
    expect(err?.message).toMatch(/meridian\.read_your_writes/);
    await c.end().catch(() => {});
  });
});

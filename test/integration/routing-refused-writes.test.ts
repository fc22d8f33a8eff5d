// routing.retry_refused_writes against a real server that turns read-only
// (default_transaction_read_only = on, as an operator does for maintenance, or a node demoted
// under a stale probe): an autocommit INSERT that the node refuses with 25006 is held back, the
// node is re-probed (now a replica: no master), the write waits up to write_wait and succeeds
// once the node takes writes again: exactly one row, no error for the client, in the simple and
// the extended protocol. What might have run in part (a volatile function, several statements)
// gets the 25006, and the node is re-probed at once all the same.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { startSingleNode, waitFor, type SingleCluster } from '../support/cluster.js';
import { connectClient, startMeridian, type RunningMeridian } from '../helpers/meridian.js';
import { errorOf } from '../helpers/errors.js';

let cluster: SingleCluster;
let mer: RunningMeridian;
let client: pg.Client;
const role = () => mer.m.health.snapshot.nodes[0]!.role;
async function retries(): Promise<number> {
  const m = /meridian_retries_total\{reason="read-only"\} (\d+)/.exec(await mer.m.metrics.text());
  return m === null ? 0 : Number(m[1]);
}

async function setReadOnly(on: boolean): Promise<void> {
  const n = cluster.nodes[0]!;
  await n.query(`alter system set default_transaction_read_only = ${on ? 'on' : 'off'}`);
  await n.query('select pg_reload_conf()');
  // The reload reaches every backend at its next command; wait until a new session sees it.
  await waitFor(
    async () => {
      const [r] = await n.query<{ ro: string }>("select current_setting('default_transaction_read_only') as ro");
      return r!.ro === (on ? 'on' : 'off');
    },
    { timeoutMs: 5_000, what: `default_transaction_read_only ${on}` },
  );
}

beforeAll(async () => {
  cluster = await startSingleNode();
  await cluster.exec('create table rw_items(id int primary key, note text); grant all on rw_items to public');
  // A function that writes: what it did before the refusal is unknown to Meridian.
  await cluster.exec(
    'create function rw_log(t text) returns int language sql volatile as $$ insert into rw_items values (100, t) returning 1 $$; grant execute on function rw_log(text) to public',
  );
  // Probes far apart, so the write reaches the node before any probe noticed the change.
  mer = await startMeridian(cluster, {
    kind: 'physical',
    health: 'interval: 5s, timeout: 2s, rise: 1, fall: 2',
    extraYaml: 'routing: { write_wait: 8s }',
  });
  await waitFor(() => role() === 'master', { timeoutMs: 30_000, what: 'node probed as master' });
  client = await connectClient(mer);
}, 120_000);

afterAll(async () => {
  await client?.end().catch(() => {});
  await mer?.stop();
  await cluster?.stop();
});

describe('writes refused as read-only (25006)', () => {
  it.each([
    ['simple Query', 1, () => client.query("insert into rw_items values (1, 'a')")],
    ['extended protocol', 4, () => client.query('insert into rw_items values ($1, $2)', [4, 'd'])],
    ['named prepared statement', 5, () => client.query({ name: 'rw_ins', text: 'insert into rw_items values ($1, $2)', values: [5, 'e'] })],
  ] as const)(
    'an autocommit INSERT (%s) waits for the node to take writes again, then succeeds once',
    async (_what, id, send) => {
      await waitFor(() => role() === 'master', { timeoutMs: 10_000, what: 'master again' });
      await setReadOnly(true);
      const before = await retries();
      const t0 = Date.now();
      const pending = send();
      // Meridian re-probed at the refusal: the node is a replica now, and the write waits.
      await waitFor(() => role() === 'replica', { timeoutMs: 3_000, intervalMs: 20, what: 'role re-probed at the refusal' });
      expect(Date.now() - t0).toBeLessThan(3_000); // well before the next regular probe (5 s)
      await new Promise((r) => setTimeout(r, 500));
      await setReadOnly(false);
      await mer.m.health.probeNow(cluster.nodes[0]!.name); // readmission by a probe (as the next regular one would)
      const r = await pending;
      expect(r.rowCount).toBe(1);
      expect(await retries()).toBe(before + 1);
      const [row] = await cluster.nodes[0]!.query<{ n: number }>(`select count(*)::int as n from rw_items where id = ${id}`);
      expect(row!.n).toBe(1);
    },
    30_000,
  );

  /** Read-only on, then `run` while the probes still say master; the refusal must re-probe the node. */
  async function refusedAsIs(run: () => Promise<unknown>): Promise<{ code?: string; message: string } | null> {
    await waitFor(() => role() === 'master', { timeoutMs: 10_000, what: 'master again' });
    await setReadOnly(true);
    try {
      const before = await retries();
      const t0 = Date.now();
      const err = await errorOf(run());
      await waitFor(() => role() === 'replica', { timeoutMs: 3_000, intervalMs: 20, what: 'role re-probed at the refusal' });
      expect(Date.now() - t0).toBeLessThan(3_000);
      expect(await retries()).toBe(before);
      return err;
    } finally {
      await setReadOnly(false);
      await mer.m.health.probeNow(cluster.nodes[0]!.name);
    }
  }

  it('what may have run in part gets the 25006 (no retry), and the node is re-probed at once', async () => {
    // A volatile function (simple and extended), two statements in one Query.
    expect(await refusedAsIs(() => client.query("select rw_log('x')"))).toMatchObject({ code: '25006' });
    expect(await refusedAsIs(() => client.query('select rw_log($1)', ['y']))).toMatchObject({ code: '25006' });
    expect(await refusedAsIs(() => client.query("insert into rw_items values (2, 'b'); insert into rw_items values (3, 'c')"))).toMatchObject({
      code: '25006',
    });
    const [row] = await cluster.nodes[0]!.query<{ n: number }>('select count(*)::int as n from rw_items where id in (2, 3, 100)');
    expect(row!.n).toBe(0);
  }, 60_000);

  it('with routing.retry_refused_writes off, the INSERT gets the 25006', async () => {
    const off = await startMeridian(cluster, {
      kind: 'physical',
      health: 'interval: 5s, timeout: 2s, rise: 1, fall: 2',
      extraYaml: 'routing: { write_wait: 8s, retry_refused_writes: false }',
    });
    try {
      await waitFor(() => off.m.health.snapshot.nodes[0]!.role === 'master', { timeoutMs: 30_000, what: 'probed as master' });
      const c = new pg.Client(off.dsn());
      c.on('error', () => {});
      await c.connect();
      await setReadOnly(true);
      try {
        expect(await errorOf(c.query("insert into rw_items values (6, 'f')"))).toMatchObject({ code: '25006' });
      } finally {
        await setReadOnly(false);
        await c.end().catch(() => {});
      }
    } finally {
      await off.stop();
    }
  }, 60_000);
});

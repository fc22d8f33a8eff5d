// Issue 5 acceptance: prepared-statement limits. One client prepares 10 000 distinct named
// statements (node-postgres keeps every one and never closes them) through pools whose backends
// may hold at most pool.prepared_statements_per_backend = 100 Meridian-named statements: no
// backend ever holds more (each statement reports pg_prepared_statements of the backend it runs
// on), evicted ones are prepared again when the client reuses them, and every result is right.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { sharedCluster, uniqueName, waitFor, type Cluster, type PglogicalCluster, type PhysicalCluster } from '../support/cluster.js';
import type { RunningMeridian } from '../helpers/meridian.js';
import { nodeNameOfPort, startSessionMeridian } from '../drivers/workload.js';
import { pythonModules, runPython } from '../drivers/run-driver.js';

type Kind = 'physical' | 'pglogical';
const LIMIT = 100;
const STATEMENTS = 10_000;

interface Row {
  x: number;
  n: number;
  port: number;
  pid: number;
}

describe.each<Kind>(['physical', 'pglogical'])('prepared statement limits on %s', (kind) => {
  let cluster: Cluster;
  let mer: RunningMeridian;

  beforeAll(async () => {
    cluster = await sharedCluster(kind);
    mer = await startSessionMeridian(cluster, `mode: transaction, size: 2, queue_timeout: 30s, prepared_statements_per_backend: ${LIMIT}`);
  });

  afterAll(async () => {
    await mer?.stop();
  });

  it(`10 000 distinct statements from one client never grow a backend beyond ${LIMIT} and all execute correctly`, async () => {
    const table = uniqueName('pl');
    await cluster.exec(`create table ${table}(id int primary key, v int); grant all on ${table} to public`);
    if (kind === 'pglogical') await (cluster as PglogicalCluster).addToReplicationSet(table);
    if (kind === 'physical') await (cluster as PhysicalCluster).waitReplayed(60_000);
    const c = new pg.Client(mer.dsn());
    // A second session on the same pools: backends move between the two, with their statements.
    const other = new pg.Client(mer.dsn());
    await c.connect();
    await other.connect();
    const maxPerBackend = new Map<string, number>();
    const nodes = new Map<string, number>();
    const note = (r: Row) => {
      const key = `${nodeNameOfPort(cluster, r.port)}/${r.pid}`;
      maxPerBackend.set(key, Math.max(maxPerBackend.get(key) ?? 0, r.n));
      nodes.set(nodeNameOfPort(cluster, r.port), (nodes.get(nodeNameOfPort(cluster, r.port)) ?? 0) + 1);
    };
    const text = (i: number) =>
      i % 10 === 0
        ? `insert into ${table} values ($1, ${i}) returning v + 0 as x, (select count(*)::int from pg_prepared_statements) as n, inet_server_port() as port, pg_backend_pid() as pid`
        : `select $1::int + ${i} as x, (select count(*)::int from pg_prepared_statements) as n, inet_server_port() as port, pg_backend_pid() as pid`;
    const run = async (client: pg.Client, i: number, arg: number): Promise<Row> => {
      const r = await client.query<Row>({ name: `s${i}`, text: text(i), values: [arg] });
      return r.rows[0]!;
    };
    try {
      let reused = 0;
      for (let i = 0; i < STATEMENTS; i++) {
        const r = await run(c, i, i);
        expect(r.x, `statement ${i}`).toBe(i % 10 === 0 ? i : 2 * i);
        note(r);
        if (i % 50 === 49) {
          // Reuse an old statement: pg sends only Bind/Execute; the backend may have evicted it.
          const j = Math.floor(Math.random() * i);
          if (j % 10 !== 0) {
            const old = await run(c, j, 1);
            expect(old.x, `reused statement ${j}`).toBe(1 + j);
            note(old);
            reused++;
          }
          const o = await run(other, i, i % 10 === 0 ? -i : 7);
          expect(o.x).toBe(i % 10 === 0 ? i : 7 + i);
          note(o);
        }
      }
      const worst = Math.max(...maxPerBackend.values());
      console.log(
        `${kind}: ${STATEMENTS} statements (${reused} reused) on backends ${JSON.stringify(Object.fromEntries(maxPerBackend))} (max prepared seen); nodes ${JSON.stringify(Object.fromEntries(nodes))}`,
      );
      expect(worst).toBeLessThanOrEqual(LIMIT);
      expect(worst).toBeGreaterThanOrEqual(LIMIT - 1);
      if (kind === 'physical') {
        // Writes on the primary, reads on a standby (which one is the router's choice).
        // Every write; reads fall back to the primary only while both standbys lag (a loaded host).
        expect(nodes.get('primary')).toBeGreaterThanOrEqual(STATEMENTS / 10);
        expect(nodes.size).toBeGreaterThanOrEqual(2);
      }
    } finally {
      await c.end().catch(() => {});
      await other.end().catch(() => {});
    }
    // Fresh sessions on the same pools see at most LIMIT statements on whatever backend serves them.
    const fresh = await Promise.all(
      [0, 1, 2, 3].map(async () => {
        const f = new pg.Client(mer.dsn());
        await f.connect();
        return f;
      }),
    );
    try {
      for (let k = 0; k < 20; k++) {
        const f = fresh[k % fresh.length]!;
        const q =
          k % 2 === 0 ? 'select count(*)::int as n from pg_prepared_statements' : 'begin; select count(*)::int as n from pg_prepared_statements; commit';
        const res = await f.query(q);
        const rows = Array.isArray(res) ? res[1]!.rows : res.rows;
        expect(rows[0].n).toBeLessThanOrEqual(LIMIT);
      }
    } finally {
      await Promise.all(fresh.map((f) => f.end().catch(() => {})));
    }
    // Every insert happened once (pglogical: replicated to the first node in time).
    await waitFor(async () => (await cluster.nodes[0]!.query<{ n: number }>(`select count(*)::int as n from ${table}`))[0]!.n === STATEMENTS / 10, {
      what: `${STATEMENTS / 10} rows on ${cluster.nodes[0]!.name}`,
      timeoutMs: 30_000,
    });
  }, 600_000);

  it('psycopg 3 past its prepared_max: its SQL DEALLOCATEs of protocol-level statements work, and Rails-style DEALLOCATE by simple query', async () => {
    expect(await pythonModules('psycopg')).toBeNull();
    const report = await runPython('psycopg_many.py', [mer.dsn(), '1000']);
    console.log(
      `${kind}: psycopg ${String(report.psycopg)}: ${String(report.statements)} statements, at most ${String(report.maxPrepared)} prepared on a backend`,
    );
    expect(report.maxPrepared).toBeLessThanOrEqual(LIMIT);
  }, 300_000);
});

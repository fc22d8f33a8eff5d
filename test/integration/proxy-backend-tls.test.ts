// TLS from Meridian to the nodes (cluster.tls: require): the server reports the connection as
// SSL, and queries, large results both ways, COPY and pipelined extended-protocol batches pass through
// a TLS backend socket (read through 'data' events, not a reusable read buffer).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import postgres from 'postgres';
import { type SingleCluster } from '../support/cluster.js';
import { makeSelfSignedCert, startTlsNode } from '../support/test-pki.js';
import { startMeridian, type RunningMeridian } from '../helpers/meridian.js';

let cluster: SingleCluster;
let mer: RunningMeridian;

beforeAll(async () => {
  cluster = await startTlsNode(makeSelfSignedCert('meridian-node-tls-'));
  await cluster.exec('create table if not exists tls_t (id int primary key, v text)');
  mer = await startMeridian(cluster, { clusterYaml: '  tls: require' });
}, 120_000);

afterAll(async () => {
  await mer?.stop();
  await cluster?.stop();
});

describe('TLS to the nodes', () => {
  it('the server sees an SSL connection from Meridian', async () => {
    const c = new pg.Client({ connectionString: mer.dsn() });
    await c.connect();
    const r = await c.query('select ssl from pg_stat_ssl where pid = pg_backend_pid()');
    expect(r.rows[0].ssl).toBe(true);
    await c.end();
  });

  it('large results and parameters, pipelined statements and COPY arrive intact', async () => {
    const c = new pg.Client({ connectionString: mer.dsn() });
    await c.connect();
    const big = 'x'.repeat(300_000);
    const echo = await c.query('select $1::text as v', [big]);
    expect(echo.rows[0].v).toBe(big);
    const rows = await c.query("select g, repeat('y', 100) as pad from generate_series(1, 20000) g");
    expect(rows.rowCount).toBe(20000);
    expect(rows.rows[19999].g).toBe(20000);
    await c.end();
    // postgres.js pipelines these on one connection; then COPY FROM STDIN through the TLS backend.
    const sql = postgres(mer.dsn(), { max: 1 });
    await sql.begin((tx) =>
      Array.from({ length: 50 }, (_, i) => tx`insert into tls_t values (${i}, ${`v${i}`}) on conflict (id) do update set v = excluded.v`),
    );
    const [n] = await sql`select count(*)::int as n, string_agg(v, ',' order by id) as s from tls_t`;
    expect(n!.n).toBe(50);
    expect(String(n!.s).split(',')[49]).toBe('v49');
    const w = await sql`copy tls_t (id, v) from stdin`.writable();
    for (let i = 1000; i < 6000; i++) w.write(`${i}\t${'z'.repeat(50)}\n`);
    await new Promise<void>((resolve, reject) => w.end((err?: Error | null) => (err ? reject(err) : resolve())));
    const [m] = await sql`select count(*)::int as n from tls_t where id >= 1000`;
    expect(m!.n).toBe(5000);
    await sql.end();
  });
});

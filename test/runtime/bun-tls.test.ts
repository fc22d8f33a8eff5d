// TLS on both sides of Meridian run by Bun: clients upgrade after SSLRequest (Bun's upgradeTLS on
// the accepted socket, as the server), Meridian upgrades its node connections (cluster.tls:
// require). Checked with node-postgres and psql, a large result through both TLS sockets, and the
// refusal of a plain client when TLS is required.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { type SingleCluster } from '../support/cluster.js';
import { makeSelfSignedCert, startTlsNode } from '../support/test-pki.js';
import { runPsql } from '../support/proc.js';
import { startMeridianProcess, testRuntime, type MeridianProcess } from '../helpers/meridian-process.js';

let cluster: SingleCluster;
let mer: MeridianProcess;

beforeAll(async () => {
  const files = makeSelfSignedCert('meridian-rt-tls-');
  cluster = await startTlsNode(files);
  mer = await startMeridianProcess(cluster, {
    runtime: testRuntime(),
    clusterYaml: '  tls: require',
    extraYaml: `tls: { cert: ${files.cert}, key: ${files.key}, mode: require }`,
    tlsClients: true,
  });
}, 120_000);

afterAll(async () => {
  await mer?.stop();
  await cluster?.stop();
});

function tlsClient(): pg.Client {
  const c = new pg.Client({ connectionString: mer.dsn(), ssl: { rejectUnauthorized: false } });
  c.on('error', () => {});
  return c;
}

describe(`TLS both ways, Meridian under ${testRuntime()}`, () => {
  it('node-postgres over TLS; the node sees TLS from Meridian', async () => {
    const c = tlsClient();
    await c.connect();
    try {
      expect((c as unknown as { connection: { stream: { encrypted?: boolean } } }).connection.stream.encrypted).toBe(true);
      const r = await c.query('select ssl from pg_stat_ssl where pid = pg_backend_pid()');
      expect(r.rows[0].ssl).toBe(true);
      const ext = await c.query({ text: 'select $1::int * 2 as v', values: [21] });
      expect(ext.rows[0].v).toBe(42);
    } finally {
      await c.end();
    }
  });

  it('psql with sslmode=require', async () => {
    const r = await runPsql({ port: mer.port, user: 'app', password: 'app-secret', command: 'select 42', env: { PGSSLMODE: 'require' } });
    expect(r.stdout.trim()).toBe('42');
  });

  it('a large result and a large parameter through TLS on both sides', async () => {
    const c = tlsClient();
    await c.connect();
    try {
      const t0 = performance.now();
      const r = await c.query("select g, repeat('y', 200) as pad from generate_series(1, 100000) g");
      const ms = performance.now() - t0;
      expect(r.rowCount).toBe(100000);
      expect(r.rows[99999].g).toBe(100000);
      const big = 'x'.repeat(2_000_000);
      const echo = await c.query('select $1::text as v', [big]);
      expect(echo.rows[0].v).toBe(big);
      console.log(`[runtime ${mer.runtime}] TLS both ways: 100 000 rows × ~210 B in ${ms.toFixed(0)} ms; a 2 MB parameter echoed`);
    } finally {
      await c.end();
    }
  });

  it('refuses a plain client with 28000', async () => {
    const c = new pg.Client({ connectionString: mer.dsn(), ssl: false });
    c.on('error', () => {});
    await expect(c.connect()).rejects.toMatchObject({ code: '28000' });
  });
});

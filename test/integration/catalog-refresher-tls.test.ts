// Issue 14, finding 13: every connection Meridian opens to a node honours cluster.tls. The catalog
// refresher's pg.Client used to connect in plain text whatever cluster.tls said, so the backend
// password and the pg_proc rows crossed the network unencrypted. Here the node refuses plain
// connections for the user the refresher logs in as: the catalog loads only over TLS (verify-full
// against the test CA). The health probes (own pg.Client) are checked the same way.

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor, type SingleCluster } from '../support/cluster.js';
import { makeTestPki, startTlsNode } from '../support/test-pki.js';
import { startMeridian, type RunningMeridian } from '../helpers/meridian.js';

let cluster: SingleCluster;
let mer: RunningMeridian;

beforeAll(async () => {
  const pki = makeTestPki('meridian-catalog-tls-');
  const { ca } = pki;
  cluster = await startTlsNode(pki);
  const node = cluster.nodes[0]!;
  // The node takes user app (the refresher's login: the first session's user) only over TLS.
  const hba = join(node.dataDir, 'pg_hba.conf');
  writeFileSync(hba, `hostnossl all app 0.0.0.0/0 reject\n${readFileSync(hba, 'utf8')}`);
  await node.query('select pg_reload_conf()');
  mer = await startMeridian(cluster, { clusterYaml: `  tls: verify-full\n  tls_ca: ${ca}`, extraYaml: 'routing: { write_wait: 1s }' });
}, 120_000);

afterAll(async () => {
  await mer?.stop();
  await cluster?.stop();
});

describe('cluster.tls on every connection to a node', () => {
  it('regression: the catalog refresher connects with TLS (the node refuses it in plain text)', async () => {
    const c = new pg.Client(mer.dsn('app'));
    c.on('error', () => {});
    await c.connect();
    try {
      expect((await c.query('select ssl from pg_stat_ssl where pid = pg_backend_pid()')).rows[0].ssl).toBe(true);
      const t0 = Date.now();
      const live = await waitFor(() => mer.m.catalog.lookup.isLive || undefined, { timeoutMs: 10_000, what: 'the catalog loaded' }).catch(() => false);
      console.log(`catalog over verify-full TLS: ${live ? `loaded in ${Date.now() - t0} ms, ${mer.m.catalog.lookup.size} names` : 'not loaded'}`);
      expect(live).toBe(true);
    } finally {
      await c.end();
    }
  }, 30_000);

  it('the health probes connect with TLS too', async () => {
    const rows = await cluster.nodes[0]!.query<{ ssl: boolean }>(
      `select s.ssl from pg_stat_activity a join pg_stat_ssl s using (pid) where a.application_name = 'meridian-probe'`,
    );
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.every((r) => r.ssl)).toBe(true);
  });
});

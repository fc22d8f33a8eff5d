// Large results over TLS reach a driver that waits on its socket itself (psycopg 3 on libpq), read
// fast or slowly, in both pooling modes: up to 40 MB, far above the socket buffers. They once hung
// at the end of the result: Meridian sent 16 kB TLS records, libpq (which keeps only 8 kB free
// before a read) took the last one in part, and the rest waited inside OpenSSL with nothing left on
// the socket to wake psycopg. Meridian now sends records of at most 8 kB, as PostgreSQL does.

import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pythonModules, runPython } from '../drivers/run-driver.js';
import { startMeridian, type RunningMeridian } from '../helpers/meridian.js';
import { sharedCluster, type Cluster } from '../support/cluster.js';

let cluster: Cluster;
let tlsYaml: string;
let missing: string | null;

beforeAll(async () => {
  cluster = await sharedCluster('single');
  missing = await pythonModules('psycopg');
  const dir = mkdtempSync(join(tmpdir(), 'meridian-tls-large-'));
  const cert = join(dir, 'server.crt');
  const key = join(dir, 'server.key');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost'], {
    stdio: 'ignore',
  });
  tlsYaml = `tls: { cert: ${cert}, key: ${key}, mode: allow }`;
});

describe.each(['session', 'transaction'])('psycopg over TLS, %s pooling', (mode) => {
  let mer: RunningMeridian;
  beforeAll(async () => {
    mer = await startMeridian(cluster, { pool: `mode: ${mode}, size: 4`, extraYaml: tlsYaml });
  });
  afterAll(async () => {
    await mer?.stop();
  });

  it('gets results of 64 to 4096 rows of 10 kB, fetched whole and streamed slowly', async () => {
    expect(missing, 'python3-psycopg is needed (installed by .ci/run)').toBeNull();
    const r = (await runPython('psycopg_tls_large.py', [`${mer.dsn()}?sslmode=require&connect_timeout=10`, '64,256,1024,4096'], 90_000)) as unknown as {
      ssl: boolean;
      cases: Array<{ mode: string; rows: number; seconds: number }>;
    };
    console.log(`${mode} pooling over TLS: ${r.cases.map((c) => `${c.mode} ${c.rows} rows ${c.seconds}s`).join(', ')}`);
    expect(r.ssl).toBe(true);
    expect(r.cases.map((c) => c.rows)).toEqual([64, 256, 1024, 4096, 4096]);
  }, 120_000);
});

// TLS from clients to Meridian (tls.mode: require): sslmode=require works with node-postgres and
// postgres.js, a plain connection is refused with 28000, and SCRAM runs inside TLS.

import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import postgres from 'postgres';
import { sharedCluster, type Cluster } from '../support/cluster.js';
import { startMeridian, type RunningMeridian } from '../helpers/meridian.js';
import { runPsql } from '../support/proc.js';

let cluster: Cluster;
let mer: RunningMeridian;

beforeAll(async () => {
  cluster = await sharedCluster('single');
  const dir = mkdtempSync(join(tmpdir(), 'meridian-tls-'));
  const cert = join(dir, 'server.crt');
  const key = join(dir, 'server.key');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost'], {
    stdio: 'ignore',
  });
  mer = await startMeridian(cluster, { extraYaml: `tls: { cert: ${cert}, key: ${key}, mode: require }` });
});

afterAll(async () => {
  await mer?.stop();
});

describe('TLS', () => {
  it('node-postgres with sslmode=require', async () => {
    const c = new pg.Client({ connectionString: mer.dsn(), ssl: { rejectUnauthorized: false } });
    await c.connect();
    const r = await c.query('select 1 as one');
    expect(r.rows[0].one).toBe(1);
    expect((c as unknown as { connection: { stream: { encrypted?: boolean } } }).connection.stream.encrypted).toBe(true);
    await c.end();
  });

  it('postgres.js with ssl require', async () => {
    const sql = postgres(mer.dsn(), { ssl: 'require', max: 1 });
    const [r] = await sql`select ${5}::int as five`;
    expect(r!.five).toBe(5);
    await sql.end();
  });

  it('psql with sslmode=require reports an SSL connection', async () => {
    const r = await runPsql({ port: mer.port, user: 'app', password: 'app-secret', command: 'select 42', env: { PGSSLMODE: 'require' } });
    expect(r.stdout.trim()).toBe('42');
  });

  it('refuses a plain connection with 28000 when TLS is required', async () => {
    const c = new pg.Client({ connectionString: mer.dsn(), ssl: false });
    await expect(c.connect()).rejects.toMatchObject({ code: '28000' });
  });
});

// cluster.tls verify-ca / verify-full against a real server whose certificate a test CA signed for
// IP 127.0.0.1 only: the right CA connects (and the server sees SSL), a wrong CA or a host name the
// certificate does not carry is refused with the TLS reason, verify-ca accepts any name its CA
// signed, and tls_ca with a mode that checks nothing is a config error.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { connectServer } from '../../src/backend/server-connect.js';
import { parseConfigText } from '../../src/config/load-config.js';
import { TEST_USERS, type SingleCluster } from '../support/cluster.js';
import { makeTestPki, startTlsNode } from '../support/test-pki.js';
import { startMeridian, type RunningMeridian } from '../helpers/meridian.js';

let cluster: SingleCluster;
let dir: string;
const running: RunningMeridian[] = [];

beforeAll(async () => {
  const pki = makeTestPki('meridian-node-tls-verify-');
  dir = pki.dir;
  cluster = await startTlsNode(pki);
}, 120_000);

afterAll(async () => {
  for (const m of running) await m.stop();
  await cluster?.stop();
});

async function meridianWith(mode: string, caFile: string, host = '127.0.0.1'): Promise<RunningMeridian> {
  const node = cluster.nodes[0]!;
  const m = await startMeridian(cluster, {
    nodes: [{ name: node.name, host, port: node.port }],
    clusterYaml: `  tls: ${mode}\n  tls_ca: ${join(dir, caFile)}`,
    extraYaml: 'routing: { write_wait: 1s }',
  });
  running.push(m);
  return m;
}

async function sslThrough(m: RunningMeridian): Promise<boolean> {
  const c = new pg.Client({ connectionString: m.dsn() });
  c.on('error', () => {});
  await c.connect();
  try {
    return (await c.query('select ssl from pg_stat_ssl where pid = pg_backend_pid()')).rows[0].ssl as boolean;
  } finally {
    await c.end();
  }
}

async function failureThrough(m: RunningMeridian): Promise<string> {
  const c = new pg.Client({ connectionString: m.dsn(), connectionTimeoutMillis: 15_000 });
  c.on('error', () => {});
  try {
    await c.connect();
    await c.query('select 1');
    await c.end();
    return 'connected';
  } catch (e) {
    return (e as Error).message;
  }
}

describe('cluster.tls certificate checks', () => {
  it('verify-full with the CA that signed the node certificate connects over SSL', async () => {
    expect(await sslThrough(await meridianWith('verify-full', 'test-ca.crt'))).toBe(true);
  }, 60_000);

  it('verify-full refuses a node whose certificate another CA signed', async () => {
    const msg = await failureThrough(await meridianWith('verify-full', 'other-ca.crt'));
    expect(msg).not.toBe('connected');
    expect(msg).toContain('unable to verify the first certificate'); // the probes' reason, in the routing error
  }, 60_000);

  it('verify-full refuses a host name the certificate does not carry; verify-ca accepts it', async () => {
    const full = await failureThrough(await meridianWith('verify-full', 'test-ca.crt', 'localhost'));
    expect(full).not.toBe('connected');
    expect(full).toContain("does not match certificate's altnames");
    expect(await sslThrough(await meridianWith('verify-ca', 'test-ca.crt', 'localhost'))).toBe(true);
  }, 60_000);

  it("Meridian's own server connections check the certificate too", async () => {
    const node = cluster.nodes[0]!;
    const ca = readFileSync(join(dir, 'other-ca.crt'), 'utf8');
    const base = { host: '127.0.0.1', port: node.port, user: 'app', password: TEST_USERS.app.password, database: 'app', timeoutMs: 5000 };
    await expect(connectServer({ ...base, tls: { mode: 'verify-full', ca } })).rejects.toThrow('TLS: unable to verify the first certificate');
    const good = await connectServer({ ...base, tls: { mode: 'verify-full', ca: readFileSync(join(dir, 'test-ca.crt'), 'utf8') } });
    good.socket.destroy();
  }, 30_000);

  it('tls_ca with a mode that checks no certificate is a config error', () => {
    const yaml = `listen: { host: 127.0.0.1, port: 0 }
users: [{ name: app, password: x, auth: md5 }]
cluster:
  kind: physical
  tls: require
  tls_ca: ${join(dir, 'test-ca.crt')}
  nodes: [{ name: n1, host: 127.0.0.1, port: 5432, region: r1 }]
`;
    expect(() => parseConfigText(yaml, join(dir, 'meridian.yaml'))).toThrow(/tls_ca.*only applies with cluster.tls verify-ca or verify-full/s);
  });
});

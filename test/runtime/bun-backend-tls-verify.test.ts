// cluster.tls verify-ca / verify-full with Meridian run by Bun (its node connections upgrade with
// Bun's upgradeTLS; the certificate is checked from Bun's handshake result): a certificate a test
// CA signed for IP 127.0.0.1 passes verify-full at 127.0.0.1; a wrong CA, or verify-full toward
// "localhost" (a name the certificate does not carry), refuses the connection; verify-ca accepts
// that name but not a wrong CA.

import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { TEST_USERS, type SingleCluster } from '../support/cluster.js';
import { makeTestPki, startTlsNode } from '../support/test-pki.js';
import { startMeridianProcess, testRuntime, type MeridianProcess } from '../helpers/meridian-process.js';

let cluster: SingleCluster;
let dir: string;
const running: MeridianProcess[] = [];

beforeAll(async () => {
  const pki = makeTestPki('meridian-rt-tls-verify-');
  dir = pki.dir;
  cluster = await startTlsNode(pki);
}, 120_000);

afterAll(async () => {
  for (const m of running) await m.stop();
  await cluster?.stop();
});

async function meridianWith(mode: string, ca: string, host: string): Promise<MeridianProcess> {
  const node = cluster.nodes[0]!;
  const m = await startMeridianProcess(cluster, {
    runtime: testRuntime(),
    nodes: [{ name: node.name, host, port: node.port }],
    clusterYaml: `  tls: ${mode}\n  tls_ca: ${join(dir, ca)}`,
    extraYaml: 'routing: { write_wait: 1s }',
  });
  running.push(m);
  return m;
}

const ROOT = resolve(import.meta.dirname, '../..');

/** connectServer in a child process of the tested runtime (bounded: 20 s). */
function connectUnder(mode: string, ca: string, host: string): { ok: boolean; error?: string } {
  const spec = { host, port: cluster.nodes[0]!.port, user: 'app', password: TEST_USERS.app.password, mode, caFile: join(dir, ca) };
  const script = join(ROOT, 'test/runtime/fixtures/connect-node.ts');
  const [cmd, args] = testRuntime() === 'bun' ? [join(ROOT, 'node_modules/.bin/bun'), [script]] : [process.execPath, ['--import', 'tsx', script]];
  const r = spawnSync(cmd, args, { cwd: ROOT, env: { ...process.env, MERIDIAN_CONNECT: JSON.stringify(spec) }, encoding: 'utf8', timeout: 20_000 });
  const line = r.stdout.trim().split('\n').at(-1) ?? '';
  if (!line.startsWith('{')) throw new Error(`connect-node.ts printed nothing: ${r.stderr}`);
  return JSON.parse(line) as { ok: boolean; error?: string };
}

async function query(m: MeridianProcess): Promise<boolean> {
  const c = new pg.Client({ connectionString: m.dsn(), connectionTimeoutMillis: 5000 });
  c.on('error', () => {});
  await c.connect();
  try {
    const r = await c.query('select ssl from pg_stat_ssl where pid = pg_backend_pid()');
    return r.rows[0].ssl as boolean;
  } finally {
    await c.end();
  }
}

describe(`node TLS verification, Meridian under ${testRuntime()}`, () => {
  it('verify-full with the right CA at 127.0.0.1 connects over TLS', async () => {
    expect(await query(await meridianWith('verify-full', 'test-ca.crt', '127.0.0.1'))).toBe(true);
  });

  it('verify-ca accepts a name the certificate does not carry', async () => {
    expect(await query(await meridianWith('verify-ca', 'test-ca.crt', 'localhost'))).toBe(true);
  });

  it('verify-full refuses a wrong CA and a wrong name with the TLS reason; verify-ca checks the CA', async () => {
    // Straight through connectServer in a process of that runtime: the health probes (pg's own TLS)
    // would refuse these nodes too and hide whether the transport checked anything.
    const cases = [
      { mode: 'verify-full', ca: 'other-ca.crt', host: '127.0.0.1', ok: false },
      { mode: 'verify-full', ca: 'test-ca.crt', host: 'localhost', ok: false },
      { mode: 'verify-ca', ca: 'other-ca.crt', host: '127.0.0.1', ok: false },
      { mode: 'verify-full', ca: 'test-ca.crt', host: '127.0.0.1', ok: true },
      { mode: 'verify-ca', ca: 'test-ca.crt', host: 'localhost', ok: true },
    ] as const;
    const seen: string[] = [];
    for (const c of cases) {
      const r = connectUnder(c.mode, c.ca, c.host);
      seen.push(`${c.mode} ${c.ca} ${c.host}: ${r.ok ? 'connected' : r.error}`);
      expect(r.ok, seen.at(-1)).toBe(c.ok);
      if (!c.ok) expect(r.error).toMatch(/^TLS: /);
    }
    console.log(`[runtime ${testRuntime()}] ${seen.join('; ')}`);
  });
});

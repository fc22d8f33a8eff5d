// `meridian --runtime bun` started by Node.js runs the proxy under Bun (a child process with the
// same arguments): SHOW VERSION there names Bun, and SIGTERM to the Node.js process stops both
// with exit code 0.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { sharedCluster, type Cluster } from '../support/cluster.js';
import { startMeridianProcess, type MeridianProcess } from '../helpers/meridian-process.js';

let cluster: Cluster;
let mer: MeridianProcess;

beforeAll(async () => {
  cluster = await sharedCluster('single');
  mer = await startMeridianProcess(cluster, { runtime: 'bun', viaRuntimeFlag: true });
});

afterAll(async () => {
  await mer?.stop();
});

describe('--runtime bun from Node.js', () => {
  it('serves queries with Bun carrying the sockets, and stops on SIGTERM', async () => {
    const c = new pg.Client({ connectionString: `postgres://admin:admin-console-test-pw@127.0.0.1:${mer.port}/meridian` });
    c.on('error', () => {});
    await c.connect();
    const r = await c.query('SHOW VERSION');
    await c.end();
    expect(r.rows[0].runtime).toBe('bun');
    expect(r.rows[0].version).toMatch(/^Meridian on Bun \d+\.\d+/);
    const t0 = performance.now();
    const exited = new Promise<number | null>((resolve) => mer.child.once('exit', (code) => resolve(code)));
    mer.child.kill('SIGTERM');
    const code = await exited;
    console.log(
      `[runtime-flag] ${String(r.rows[0].version)}; stopped by SIGTERM through the Node.js parent in ${(performance.now() - t0).toFixed(0)} ms, exit ${code}`,
    );
    expect(code).toBe(0);
  });
});

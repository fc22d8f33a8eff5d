// `meridian --runtime bun` started by Node.js runs the proxy under Bun (a child process with the
// same arguments): SHOW VERSION there names Bun, and SIGTERM to the Node.js process stops both
// with exit code 0. With no runtime named, the proxy runs on the default one (Bun); `--runtime
// node` keeps it on Node.js.

import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
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

describe('the default runtime', () => {
  for (const [what, opts, expected] of [
    ['no runtime named: the proxy runs on Bun', { runtime: 'bun', viaDefault: true }, 'bun'],
    ['--runtime node from Node.js: it stays on Node.js', { runtime: 'node', viaRuntimeFlag: true }, 'node'],
  ] as const) {
    it(what, async () => {
      const p = await startMeridianProcess(cluster, opts);
      try {
        const c = new pg.Client({ connectionString: `postgres://admin:admin-console-test-pw@127.0.0.1:${p.port}/meridian` });
        c.on('error', () => {});
        await c.connect();
        const r = await c.query('SHOW VERSION');
        await c.end();
        console.log(`[runtime-default] ${what}: ${String(r.rows[0].version)}`);
        expect(r.rows[0].runtime).toBe(expected);
      } finally {
        await p.stop();
      }
    });
  }
});

describe('the re-exec guard', () => {
  it('a child started for one runtime that finds itself on the other stops instead of starting another (no loop)', () => {
    // As when `node` on PATH is Bun (`bun --bun` does that): the child runs Bun, asked for Node.js.
    const bun = join(import.meta.dirname, '../../node_modules/.bin/bun');
    const r = spawnSync(bun, ['src/cli.ts', '--runtime', 'node', '--config', 'config/meridian.yaml'], {
      cwd: join(import.meta.dirname, '../..'),
      env: { ...process.env, MERIDIAN_RUNTIME_REEXEC: '1' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    console.log(`[runtime-guard] exit ${r.status}: ${r.stderr.trim()}`);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('asked to run on node, but the executable started for it runs bun');
  });
});

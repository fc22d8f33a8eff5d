// Graceful stop for orchestrators (SIGTERM, shutdown.unready_delay, shutdown.grace), on a real
// Meridian process (the runtime vitest does not run on) under pgbench tpcb-like, 8 clients:
//  * /readyz answers 503 at once, while the client port still accepts and serves new clients for
//    the unready delay; then the listener closes (connections refused);
//  * every transaction that had started finishes: a session closes as its transaction ends, so
//    pgbench clients fail only when they begin their next one (the script's BEGIN), and the
//    node's history rows equal pgbench's count (nothing lost, nothing half-done);
//  * the process exits by itself well within unready_delay + grace.

import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { startSingleNode, TEST_USERS, type Cluster } from '../support/cluster.js';
import { runPgbench } from '../support/proc.js';
import { freePort } from '../support/ports.js';
import { startMeridianProcess, testRuntime, type MeridianProcess } from '../helpers/meridian-process.js';
import { initLoadTables } from '../fault/helpers/fault-load.js';

let cluster: Cluster;
let mer: MeridianProcess | null = null;
const UNREADY_MS = 1500;
const GRACE_MS = 10_000;

beforeAll(async () => {
  cluster = await startSingleNode();
  await initLoadTables(cluster.nodes[0]!);
}, 120_000);

afterAll(async () => {
  await mer?.stop();
  await cluster?.stop();
});

async function readyz(port: number): Promise<number | 'down'> {
  try {
    const r = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(1000) });
    await r.arrayBuffer();
    return r.status;
  } catch {
    return 'down';
  }
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.setTimeout(1000);
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
    s.once('timeout', () => (s.destroy(), resolve(false)));
  });
}

describe('SIGTERM under load', () => {
  it('unready at once, serving through the unready delay, then every started transaction finishes and the process exits', async () => {
    const httpPort = await freePort();
    mer = await startMeridianProcess(cluster, {
      runtime: testRuntime(),
      adminHttpPort: httpPort,
      health: 'interval: 200ms, timeout: 1s, rise: 1, fall: 2',
      extraYaml: `shutdown: { unready_delay: ${UNREADY_MS}ms, grace: ${GRACE_MS}ms }`,
    });
    const node = cluster.nodes[0]!;
    await node.query('truncate pgbench_history');
    expect(await readyz(httpPort)).toBe(200);
    const exited = new Promise<number>((r) => mer!.child.once('exit', (code) => r(code ?? -1)));
    const bench = runPgbench(
      ['-h', '127.0.0.1', '-p', String(mer.port), '-U', 'app', '-n', '-c', '8', '-j', '2', '-T', '30', '-b', 'tpcb-like', 'app'],
      { PGPASSWORD: TEST_USERS.app.password, PGCONNECT_TIMEOUT: '5' },
      { timeoutMs: 60_000 },
    );
    await new Promise((r) => setTimeout(r, 2000));
    const t0 = Date.now();
    mer.child.kill('SIGTERM');
    let unreadyAt: number | null = null;
    let refusedAt: number | null = null;
    let servedDuringDelay = false;
    let exitedAt: number | null = null;
    void exited.then(() => (exitedAt = Date.now()));
    while (exitedAt === null && Date.now() - t0 < UNREADY_MS + GRACE_MS + 5000) {
      const r = await readyz(httpPort);
      if (unreadyAt === null && (r === 503 || r === 'down')) unreadyAt = Date.now();
      if (refusedAt === null && !(await accepts(mer.port))) refusedAt = Date.now();
      if (!servedDuringDelay && refusedAt === null && Date.now() - t0 < UNREADY_MS - 500) {
        // A new client during the unready delay is served as usual.
        const c = new pg.Client({ connectionString: mer.dsn(), connectionTimeoutMillis: 2000 });
        c.on('error', () => {});
        await c.connect();
        expect((await c.query('select 1 as one')).rows[0].one).toBe(1);
        await c.end();
        servedDuringDelay = true;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    const code = await exited;
    const r = await bench;
    const processed = Number(/number of transactions actually processed: (\d+)/.exec(r.stdout)?.[1] ?? -1);
    const aborted = r.stderr.split('\n').filter((l) => /client \d+ .*aborted/.test(l));
    const history = (await node.query<{ n: number }>('select count(*)::int n from pgbench_history'))[0]!.n;
    console.log(
      `[shutdown] readyz 503 after ${unreadyAt! - t0} ms, listener closed after ${refusedAt === null ? '?' : refusedAt - t0} ms, exit ${code} after ${exitedAt! - t0} ms; pgbench ${processed} transactions, history ${history}, ${aborted.length} clients aborted`,
    );
    for (const l of aborted.slice(0, 8)) console.log(`[shutdown]   ${l.slice(0, 200)}`);
    expect(unreadyAt! - t0).toBeLessThan(500);
    expect(servedDuringDelay).toBe(true);
    expect(refusedAt).not.toBeNull();
    expect(refusedAt! - t0).toBeGreaterThanOrEqual(UNREADY_MS - 100);
    expect(unreadyAt!).toBeLessThan(refusedAt!);
    expect(code).toBe(0);
    expect(exitedAt! - t0).toBeLessThan(UNREADY_MS + GRACE_MS);
    // Every client stopped at the BEGIN of a transaction it had not begun (command 4 of the
    // tpcb-like script: commands 0-3 are its \set lines); none inside one.
    expect(aborted.filter((l) => !/aborted in command 4[ (]/.test(l))).toEqual([]);
    expect(processed).toBeGreaterThan(0);
    expect(history).toBe(processed);
  }, 120_000);
});

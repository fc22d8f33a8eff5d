// `workers: 2` (issue 17): Meridian run as a real command (`node --import tsx src/cli.ts --config
// FILE`, or `bun src/cli.ts …` with MERIDIAN_TEST_RUNTIME=bun), a primary and two worker
// processes sharing the listen port, in front of the shared primary/standby cluster. Checks what only a multi-process instance can get wrong: probes run once
// (not once per worker), a DRAIN issued through one worker stops new work on every worker,
// /metrics counts the traffic of every worker, SHOW SESSIONS lists every worker's sessions, a cancel
// request finds its session on another worker, and
// killing a worker does not take the instance down (it is restarted; the port keeps answering).

import { spawn, type ChildProcess } from 'node:child_process';
import { connect as connectTcp, createServer } from 'node:net';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_PASSWORD, meridianYaml } from '../helpers/meridian.js';
import { sharedCluster, TEST_USERS, waitFor, type PhysicalCluster } from '../support/cluster.js';
import { freePort } from '../support/ports.js';
import { findNode } from '../../src/net/runtime-exec.js';

const TOKEN = 'workers-test-token-9f3b';
let cluster: PhysicalCluster;
let cli: ChildProcess | null = null;
let dir = '';
let port = 0;
let httpPort = 0;
let out = '';
const clients: pg.Client[] = [];
/** Log lines seen so far: workers listening (each start of a worker), worker exits the primary noticed. */
const events = { listening: 0, exits: 0 };
let partial = '';

function onOutput(d: Buffer): void {
  const text = partial + d.toString();
  const lines = text.split('\n');
  partial = lines.pop() ?? '';
  for (const line of lines) {
    if (line.includes('"msg":"listening"')) events.listening++;
    if (line.includes('"msg":"worker exited; restarting"')) events.exits++;
  }
  out = (out + text.slice(0, text.length - partial.length)).slice(-200_000);
}

/** Worker pids: child processes of `pid` running the CLI (tsx's esbuild service is a child too). From /proc. */
function childrenOf(pid: number): number[] {
  const kids: number[] = [];
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid && readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('src/cli.ts')) kids.push(Number(p));
    } catch {
      /* gone meanwhile */
    }
  }
  return kids;
}

/**
 * The instance runs on Bun (its node:cluster, SO_REUSEPORT listeners), as `bun src/cli.ts`, with
 * MERIDIAN_TEST_RUNTIME=bun, or when vitest itself runs on Bun and no runtime is named; else on
 * Node.js (the real one: under `bun --bun`, `node` on PATH is Bun).
 */
const BUN =
  process.env.MERIDIAN_TEST_RUNTIME === 'bun' || (process.env.MERIDIAN_TEST_RUNTIME !== 'node' && typeof (globalThis as { Bun?: unknown }).Bun !== 'undefined');

function spawnCli(file: string): ChildProcess {
  const [cmd, ...args] = BUN ? ['node_modules/.bin/bun', 'src/cli.ts'] : [findNode() ?? 'node', '--import', 'tsx', 'src/cli.ts'];
  return spawn(cmd!, [...args, '--config', file], { stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Runs an instance expected to stop by itself: its exit code (or a note that it still ran) and output. */
async function runToExit(file: string, timeoutMs: number): Promise<{ code: number | null | string; text: string }> {
  const child = spawnCli(file);
  let text = '';
  child.stdout!.on('data', (d: Buffer) => (text += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (text += d.toString()));
  const code = await Promise.race([
    new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c))),
    new Promise<string>((r) => setTimeout(() => r(`still running after ${timeoutMs} ms`), timeoutMs)),
  ]);
  if (child.exitCode === null) {
    for (const p of [...childrenOf(child.pid!), child.pid!]) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  }
  return { code, text };
}

async function connect(user: 'app' | 'admin' = 'app'): Promise<pg.Client> {
  const password = user === 'admin' ? ADMIN_PASSWORD : TEST_USERS.app.password;
  const c = new pg.Client({ host: '127.0.0.1', port, user, password, database: user === 'admin' ? 'meridian' : 'app', connectionTimeoutMillis: 5_000 });
  c.on('error', () => {});
  await c.connect();
  clients.push(c);
  return c;
}

async function close(c: pg.Client): Promise<void> {
  await c.end().catch(() => {});
}

/** The listen port of the nodes a read routes to, over `n` fresh connections (spread over the workers). */
async function readPorts(n: number, readsEach: number): Promise<Map<number, number>> {
  const seen = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    const c = await connect();
    for (let j = 0; j < readsEach; j++) {
      const p = Number((await c.query('select inet_server_port() as p')).rows[0].p);
      seen.set(p, (seen.get(p) ?? 0) + 1);
    }
    await close(c);
  }
  return seen;
}

async function metricsText(): Promise<string> {
  const r = await fetch(`http://127.0.0.1:${httpPort}/metrics`);
  expect(r.status).toBe(200);
  return r.text();
}

function routedTotal(text: string): number {
  let sum = 0;
  for (const line of text.split('\n')) if (line.startsWith('meridian_routed_requests_total{')) sum += Number(line.split(' ').pop());
  return sum;
}

async function probeConnections(): Promise<number> {
  const rows = await cluster.primary.query<{ n: string }>(
    "select count(*) as n from pg_stat_activity where application_name = 'meridian-probe' and datname = 'postgres'",
  );
  return Number(rows[0]!.n);
}

beforeAll(async () => {
  cluster = await sharedCluster('physical');
  port = await freePort();
  httpPort = await freePort();
  dir = mkdtempSync(join(tmpdir(), 'meridian-workers-'));
  // Probes on database postgres: counted apart from any other Meridian's probes on the shared cluster.
  const yaml = meridianYaml(cluster, { health: 'interval: 200ms, timeout: 1s, rise: 2, fall: 2' })
    .replace('listen: { host: 127.0.0.1, port: 0 }', `workers: 2\nlisten: { host: 127.0.0.1, port: ${port} }`)
    .replace('user: postgres, database: app }', 'user: postgres, database: postgres }')
    .replace('admin: { users: [admin] }', `admin: { users: [admin], http: { port: ${httpPort}, token: ${TOKEN} } }`)
    .replace(/log: \{ level: \S+ \}/, 'log: { level: info }')
    // A rule over every region, matched by application_name only: SHOW RESIDENCY counts its sessions.
    .concat('residency: { rules: [{ name: everywhere, match: { application_name: resid-test }, regions: [r1, r2, r3] }] }\n');
  const file = join(dir, 'meridian.yaml');
  writeFileSync(file, yaml);
  cli = spawnCli(file);
  cli.stdout!.on('data', onOutput);
  cli.stderr!.on('data', onOutput);
  await waitFor(
    async () =>
      childrenOf(cli!.pid!).length === 2 &&
      events.listening >= 2 &&
      (await connect()
        .then(close)
        .then(() => true)),
    {
      timeoutMs: 60_000,
      intervalMs: 200,
      what: () => `two workers answering; output:\n${out.slice(-4000)}`,
    },
  );
  // Both workers routing reads (a standby up with its lag known in each).
  await waitFor(async () => (await readPorts(4, 1)).size > 0, { timeoutMs: 30_000, intervalMs: 200, what: 'reads routed' });
}, 120_000);

afterAll(async () => {
  for (const c of clients) await close(c);
  if (cli !== null && cli.exitCode === null) {
    const pids = [...childrenOf(cli.pid!), cli.pid!];
    for (const p of pids) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  }
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
});

describe('workers: 2', () => {
  it('probes every node once for the whole instance, not once per worker', async () => {
    // One probe connection per node while it is up: the primary's. Workers would add one each.
    const n = await waitFor(async () => ((await probeConnections()) >= 1 ? probeConnections() : null), { timeoutMs: 10_000, what: 'probe connections' });
    console.log(`probe connections on the primary node with 2 workers: ${n}`);
    expect(n).toBe(1);
  });

  it('SHOW SESSIONS lists the sessions of every worker', async () => {
    // Opened together, so the primary hands them to both workers.
    const held = await Promise.all(Array.from({ length: 8 }, () => connect()));
    const admin = await connect('admin');
    const r = await admin.query('SHOW SESSIONS');
    const workers = new Set(r.rows.map((row: Record<string, unknown>) => Number(row.worker)));
    console.log(`SHOW SESSIONS: ${r.rows.length} sessions over workers ${[...workers].sort().join(',')}`);
    expect([...workers].sort()).toEqual([0, 1]);
    expect(r.rows.length).toBeGreaterThanOrEqual(held.length + 1);
    for (const c of [...held, admin]) await close(c);
  });

  it('/metrics, SHOW STATS and SHOW NODES count the requests of every worker', async () => {
    const admin = await connect('admin');
    const stats = async () => (await admin.query('SHOW STATS')).rows.find((r: { node: string }) => r.node === '*') as Record<string, string>;
    const routedOnNodes = async () =>
      (await admin.query('SHOW NODES')).rows.reduce((n: number, r: Record<string, string>) => n + Number(r.routed_reads) + Number(r.routed_writes), 0);
    const routedOnHttp = async () => {
      const r = await fetch(`http://127.0.0.1:${httpPort}/nodes`, { headers: { authorization: `Bearer ${TOKEN}` } });
      expect(r.status).toBe(200);
      const body = (await r.json()) as { nodes: { routed_reads: number; routed_writes: number }[] };
      return body.nodes.reduce((n, x) => n + Number(x.routed_reads) + Number(x.routed_writes), 0);
    };
    const before = routedTotal(await metricsText());
    const statsBefore = Number((await stats()).requests);
    const nodesBefore = await routedOnNodes();
    const httpBefore = await routedOnHttp();
    const n = 6;
    const each = 20;
    for (let i = 0; i < n; i++) {
      const c = await connect();
      for (let j = 0; j < each; j++) await c.query('select 1');
      await close(c);
    }
    const after = routedTotal(await metricsText());
    const statsAfter = await stats();
    const nodesAfter = await routedOnNodes();
    const httpAfter = await routedOnHttp();
    console.log(
      `requests counted for ${n * each} sent over ${n} connections: /metrics ${after - before}, SHOW STATS ${Number(statsAfter.requests) - statsBefore} (avg ${statsAfter.avg_request_ms} ms), SHOW NODES ${nodesAfter - nodesBefore}, GET /nodes ${httpAfter - httpBefore}`,
    );
    expect(httpAfter - httpBefore).toBeGreaterThanOrEqual(n * each);
    expect(after - before).toBeGreaterThanOrEqual(n * each);
    expect(Number(statsAfter.requests) - statsBefore).toBeGreaterThanOrEqual(n * each);
    expect(nodesAfter - nodesBefore).toBeGreaterThanOrEqual(n * each);
    await close(admin);
  });

  it('SHOW RESIDENCY counts the sessions of every worker; SHOW ROUTES answers for every worker', async () => {
    // Opened together, so they land on both workers.
    const held = await Promise.all(
      Array.from({ length: 8 }, async () => {
        const c = new pg.Client({ host: '127.0.0.1', port, user: 'app', password: TEST_USERS.app.password, database: 'app', application_name: 'resid-test' });
        c.on('error', () => {});
        await c.connect();
        clients.push(c);
        return c;
      }),
    );
    const admin = await connect('admin');
    const workersOf = async () =>
      new Set(
        (await admin.query('SHOW SESSIONS')).rows
          .filter((r: { application_name?: string }) => r.application_name === 'resid-test')
          .map((r: { worker: number }) => Number(r.worker)),
      );
    const residency = (await admin.query('SHOW RESIDENCY')).rows.find((r: { rule: string }) => r.rule === 'everywhere') as { sessions: string };
    const routes = (await admin.query('SHOW ROUTES')).rows as { residency: string; class: string; worker: number }[];
    const routeWorkers = new Set(routes.map((r) => Number(r.worker)));
    console.log(
      `SHOW RESIDENCY sessions of rule everywhere: ${residency.sessions} of ${held.length} (on workers ${[...(await workersOf())].sort().join(',')}); SHOW ROUTES: ${routes.length} rows over workers ${[...routeWorkers].sort().join(',')}`,
    );
    expect(Number(residency.sessions)).toBe(held.length);
    expect([...routeWorkers].sort()).toEqual([0, 1]);
    for (const c of [...held, admin]) await close(c);
  });

  it('a DRAIN issued through one worker stops new work on every worker; UNDRAIN readmits on every worker', async () => {
    const s1 = cluster.node('s1').port;
    const admin = await connect('admin');
    const t0 = Date.now();
    const r = await admin.query('DRAIN s1 5s');
    console.log(`DRAIN s1 through one worker answered in ${Date.now() - t0} ms: ${JSON.stringify(r.rows[0])}`);
    expect(r.rows[0].state).toBe('drained');
    const during = await readPorts(6, 10);
    console.log(`reads by node port while s1 (${s1}) is drained: ${JSON.stringify([...during])}`);
    expect(during.get(s1) ?? 0).toBe(0);
    const nodes = await fetch(`http://127.0.0.1:${httpPort}/nodes`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(nodes.status).toBe(200);
    await admin.query('UNDRAIN s1');
    const after = await waitFor(
      async () => {
        const seen = await readPorts(6, 10);
        return (seen.get(s1) ?? 0) > 0 ? seen : null;
      },
      { timeoutMs: 20_000, what: 'reads on s1 again' },
    );
    console.log(`reads by node port after UNDRAIN: ${JSON.stringify([...after])}`);
    await close(admin);
  });

  it('the HTTP drain through one worker drains the node on every worker too', async () => {
    const s1 = cluster.node('s1').port;
    const auth = { authorization: `Bearer ${TOKEN}` };
    const r = await fetch(`http://127.0.0.1:${httpPort}/nodes/s1/drain?timeout=5s`, { method: 'POST', headers: auth });
    expect(r.status).toBe(200);
    expect(await r.json()).toMatchObject({ node: 's1', outcome: 'drained' });
    const during = await readPorts(6, 10);
    console.log(`reads by node port while s1 (${s1}) is drained over HTTP: ${JSON.stringify([...during])}`);
    expect(during.get(s1) ?? 0).toBe(0);
    // The operator page's data, from whichever worker answers: s1 drained (SHOW NODES over the
    // instance), and the drain among that worker's events (every worker drained it).
    const page = await fetch(`http://127.0.0.1:${httpPort}/ui/state`, { headers: auth });
    expect(page.status).toBe(200);
    const state = (await page.json()) as { regions: { nodes: { name: string; status: string }[] }[]; events: { text: string }[] };
    expect(state.regions.flatMap((g) => g.nodes).find((n) => n.name === 's1')?.status).toBe('drained');
    expect(state.events.some((e) => e.text.startsWith('drain of s1 started'))).toBe(true);
    const u = await fetch(`http://127.0.0.1:${httpPort}/nodes/s1/undrain`, { method: 'POST', headers: auth });
    expect(u.status).toBe(200);
    await waitFor(async () => ((await readPorts(6, 10)).get(s1) ?? 0) > 0, { timeoutMs: 20_000, what: 'reads on s1 again' });
  });

  it('a cancel request reaches the session on whichever worker holds it', async () => {
    // Each CancelRequest is a new connection the primary may hand to either worker.
    const tries = 6;
    let cancelled = 0;
    const t0 = Date.now();
    for (let i = 0; i < tries; i++) {
      const c = await connect();
      const { processID, secretKey } = c as unknown as { processID: number; secretKey: number };
      const running = c.query('select pg_sleep(10)').then(
        () => 'finished',
        (err: { code?: string }) => err.code ?? 'error',
      );
      await new Promise((r) => setTimeout(r, 150)); // the query reached its backend
      await new Promise<void>((resolve) => {
        const sock = connectTcp(port, '127.0.0.1', () => {
          const b = Buffer.alloc(16);
          b.writeInt32BE(16, 0);
          b.writeInt32BE(80877102, 4);
          b.writeInt32BE(processID, 8);
          b.writeInt32BE(secretKey, 12);
          sock.end(b);
        });
        sock.on('error', () => resolve());
        sock.on('close', () => resolve());
      });
      const outcome = await Promise.race([running, new Promise<string>((r) => setTimeout(() => r('not cancelled in 3 s'), 3_000))]);
      if (outcome === '57014') cancelled++;
      await close(c);
    }
    console.log(`cancel requests that cancelled their query: ${cancelled} of ${tries} (${Date.now() - t0} ms)`);
    expect(cancelled).toBe(tries);
  });

  it('RELOAD through one worker applies the file on every worker before it answers', async () => {
    const file = join(dir, 'meridian.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replace('size: 10,', 'size: 7,'));
    const admin = await connect('admin');
    const r = await admin.query('RELOAD');
    expect(r.rows).toContainEqual({ key: 'pool.size', result: 'applied' });
    await close(admin);
    // Admin connections opened together land on both workers; each answers with its own config.
    const admins = await Promise.all(Array.from({ length: 6 }, () => connect('admin')));
    const sizes = await Promise.all(
      admins.map(async (c) => (await c.query('SHOW CONFIG')).rows.find((row: { key: string }) => row.key === 'pool.size')?.value),
    );
    const workers = await Promise.all(admins.map(async (c) => (await c.query('SHOW SESSIONS')).rows.length));
    console.log(`pool.size after RELOAD as 6 admin sessions see it: ${sizes.join(',')} (sessions listed: ${workers.join(',')})`);
    expect(new Set(sizes)).toEqual(new Set(['7']));
    for (const c of admins) await close(c);
  });

  it('a worker restarted after a DRAIN starts with the node drained', async () => {
    const s1 = cluster.node('s1').port;
    const admin = await connect('admin');
    await admin.query('DRAIN s1 5s');
    await close(admin);
    for (const victim of childrenOf(cli!.pid!)) {
      const { listening, exits } = events;
      process.kill(victim, 'SIGKILL');
      await waitFor(() => events.exits > exits, { timeoutMs: 5_000, what: 'exit notice' });
      // The replacement listens (until then, the other worker alone holds the port).
      await waitFor(() => events.listening > listening, { timeoutMs: 20_000, what: 'the replacement worker listening' });
    }
    const seen = await readPorts(6, 10);
    console.log(`reads by node port from restarted workers while s1 (${s1}) is drained: ${JSON.stringify([...seen])}`);
    expect(seen.get(s1) ?? 0).toBe(0);
    const again = await connect('admin');
    await again.query('UNDRAIN s1');
    await close(again);
  });

  it('killing a worker process does not take the instance down: it is restarted and the port keeps answering', async () => {
    const kids = childrenOf(cli!.pid!);
    expect(kids.length).toBe(2);
    const victim = kids[0]!;
    const runtime = readlinkSync(`/proc/${victim}/exe`).split('/').pop();
    const { exits } = events;
    process.kill(victim, 'SIGKILL');
    const t0 = Date.now();
    // Until the primary has seen the exit, a connection it hands to the dead worker is lost with it
    // (as any connection the killed process held): counted apart. After that, none may fail.
    await waitFor(() => events.exits > exits, { timeoutMs: 5_000, what: "the primary's exit notice" });
    const noticedMs = Date.now() - t0;
    let answered = 0;
    let failed = 0;
    let firstError = '';
    // Connect in a loop while the worker is gone and until its replacement runs.
    while (Date.now() - t0 < 15_000) {
      try {
        const c = await connect();
        await c.query('select 1');
        await close(c);
        answered++;
      } catch (err) {
        if (failed++ === 0) firstError = (err as Error).message;
      }
      const now = childrenOf(cli!.pid!);
      if (now.length === 2 && !now.includes(victim) && answered >= 10) break;
    }
    const now = childrenOf(cli!.pid!);
    console.log(
      `after SIGKILL of worker ${victim} (${runtime}): exit seen in ${noticedMs} ms; then ${answered} connections answered, ${failed} failed ${firstError}; workers now ${now.join(',')} after ${Date.now() - t0} ms`,
    );
    expect(now.length).toBe(2);
    expect(now).not.toContain(victim);
    expect(failed).toBe(0);
    expect(cli!.exitCode).toBeNull();
  });

  it('stops on SIGTERM: every worker exits, then the primary, with code 0', async () => {
    const kids = childrenOf(cli!.pid!);
    const exited = new Promise<number | null>((resolve) => cli!.once('exit', (code) => resolve(code)));
    for (const c of clients) await close(c);
    cli!.kill('SIGTERM');
    const code = await Promise.race([exited, new Promise<string>((r) => setTimeout(() => r('timeout'), 20_000))]);
    expect(code).toBe(0);
    const alive = kids.filter((p) => {
      try {
        process.kill(p, 0);
        return true;
      } catch {
        return false;
      }
    });
    expect(alive).toEqual([]);
  });
});

describe('workers: 2, a worker that cannot start', () => {
  it('a port in use stops the instance with exit code 1 instead of restarting workers forever', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', () => resolve()));
    const takenPort = (taken.address() as { port: number }).port;
    const file = join(dir, 'taken.yaml');
    writeFileSync(
      file,
      readFileSync(join(dir, 'meridian.yaml'), 'utf8')
        .replace(`port: ${port} }`, `port: ${takenPort} }`)
        .replace(/http: \{ port: \d+/, `http: { port: ${await freePort()}`),
    );
    const t0 = Date.now();
    const { code, text } = await runToExit(file, 30_000);
    taken.close();
    console.log(`port in use: the instance exited with ${code} after ${Date.now() - t0} ms`);
    expect(code, text.slice(-3000)).toBe(1);
    // Bun: the primary's own check of the ports, before any worker; Node.js: the first worker's bind.
    expect(text).toContain(BUN ? 'workers cannot share the ports' : 'worker failed to start');
  }, 40_000);

  it('a second instance started on the ports of a running one is refused (no silent SO_REUSEPORT split on Bun)', async () => {
    // A file of its own (fresh ports), whether or not the instance above still runs.
    const file = join(dir, 'twice.yaml');
    writeFileSync(
      file,
      readFileSync(join(dir, 'meridian.yaml'), 'utf8')
        .replace(`port: ${port} }`, `port: ${await freePort()} }`)
        .replace(/http: \{ port: \d+/, `http: { port: ${await freePort()}`),
    );
    const first = spawnCli(file);
    let firstOut = '';
    first.stdout!.on('data', (d: Buffer) => (firstOut += d.toString()));
    first.stderr!.on('data', (d: Buffer) => (firstOut += d.toString()));
    try {
      await waitFor(() => (firstOut.match(/"msg":"listening"/g) ?? []).length >= 2, {
        timeoutMs: 30_000,
        what: () => `first instance listening:\n${firstOut.slice(-3000)}`,
      });
      const t0 = Date.now();
      const { code, text } = await runToExit(file, 30_000);
      console.log(`second instance on the same ports: exited with ${code} after ${Date.now() - t0} ms`);
      expect(code, text.slice(-3000)).toBe(1);
      expect(first.exitCode).toBeNull();
    } finally {
      for (const p of [...childrenOf(first.pid!), first.pid!]) {
        try {
          process.kill(p, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
    }
  }, 80_000);
});

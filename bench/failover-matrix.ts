// The failover matrix (issue 18; a benchmark, not a test): pgbench tpcb-like, 8 clients, through
// Meridian (its production build, on its default runtime) while a node fails or is taken out, and
// what the clients saw: transactions, clients aborted by an error, error lines, replays, and the time
// from the fault to the first write a new client could make. Scenarios on a 3-node pglogical
// cluster: the write node stopped (immediate shutdown), the write node hung (SIGSTOP, 10 s), a
// rolling upgrade of the write node (DRAIN, stop, start, UNDRAIN); on a primary + standby: the
// standby killed (kill -9) under a read-only load. The Patroni rows need the Patroni harness and
// are listed as not run. Everything runs in a temp dir and is stopped at the end (or on Ctrl-C).
//
//   node --import tsx bench/failover-matrix.ts [--seconds 20] [--keep] [--no-build]
//
// Writes bench/results/<date>-failover.md (and prints the same table).

import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { postmasterPid, signalNode } from '../test/fault/helpers/node-signals.js';
import { ensureMeridianBuild } from './lib/meridian-build.js';
import { PGLOGICAL_CONF, pglogicalMissing, setupPglogicalMesh } from './lib/pglogical.js';
import { initMeridianHeartbeat } from './lib/phases.js';
import { REPO } from './lib/phase-support.js';
import { freePort } from './lib/ports.js';
import { BENCH_DB, BENCH_PASSWORD, BENCH_USER, PgFactory, initPgbench, pgTool, type PgNode } from './lib/postgres.js';
import { run, runMain, sleep, stopAll } from './lib/proc.js';
import { startMeridian, type MeridianOptions, type Proxy } from './lib/proxies.js';

const CLIENT_ENV = { PGPASSWORD: BENCH_PASSWORD, PGSSLMODE: 'disable', PGCONNECT_TIMEOUT: '5' };

interface Row {
  scenario: string;
  transactions: number | null;
  abortedClients: number | null;
  errorLines: number | null;
  firstError: string;
  replays: string;
  firstWriteMs: number | null;
  note: string;
}

interface Load {
  processed: number;
  aborted: number;
  errorLines: number;
  firstError: string;
}

/** pgbench through `port` for `seconds`; resolves when it ends by itself (bounded by its own -T). */
async function pgbench(port: number, seconds: number, builtin: 'tpcb-like' | 'select-only'): Promise<Load> {
  const r = await run(
    pgTool('pgbench'),
    ['-n', '-h', '127.0.0.1', '-p', String(port), '-U', BENCH_USER, '-c', '8', '-j', '2', '-T', String(seconds), '-b', builtin, BENCH_DB],
    { env: { ...process.env, ...CLIENT_ENV }, timeoutMs: seconds * 1000 + 60_000 },
  );
  const errors = r.stderr.split('\n').filter((l) => /error|abort|fatal/i.test(l));
  return {
    processed: Number(/number of transactions actually processed: (\d+)/.exec(r.stdout)?.[1] ?? 0),
    aborted: errors.filter((l) => /client \d+ .*aborted/.test(l)).length,
    errorLines: errors.length,
    firstError: (errors[0] ?? '').replace(/\s+/g, ' ').slice(0, 160),
  };
}

/** One write through Meridian on a new connection, as a new client would make it; true when it ran. */
async function oneWrite(port: number): Promise<boolean> {
  const c = new pg.Client({ host: '127.0.0.1', port, user: BENCH_USER, password: BENCH_PASSWORD, database: BENCH_DB, connectionTimeoutMillis: 3000 });
  c.on('error', () => {});
  try {
    await c.connect();
    await c.query('insert into failover_probe(at) values (now())');
    return true;
  } catch {
    return false;
  } finally {
    await c.end().catch(() => {});
  }
}

/** Ms from `sinceMs` to the first write that ran (tried every 100 ms), or null within `limitMs`. */
async function firstWriteAfter(port: number, sinceMs: number, limitMs: number): Promise<number | null> {
  while (Date.now() - sinceMs < limitMs) {
    if (await oneWrite(port)) return Date.now() - sinceMs;
    await sleep(100);
  }
  return null;
}

/** The admin HTTP API of one Meridian. */
function httpApi(port: number, token: string) {
  const call = async (method: 'GET' | 'POST', path: string): Promise<unknown> => {
    const res = await fetch(`http://127.0.0.1:${port}${path}`, { method, headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(60_000) });
    const body = (await res.json()) as unknown;
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(body)}`);
    return body;
  };
  return {
    /** Backends busy on `node` now (SHOW NODES' active_backends): where the load runs at the fault. */
    async activeOn(node: string): Promise<number> {
      const r = (await call('GET', '/nodes')) as { nodes: { name: string; active_backends: unknown }[] };
      return Number(r.nodes.find((n) => n.name === node)?.active_backends ?? -1);
    },
    drain: (node: string) => call('POST', `/nodes/${node}/drain`),
    undrain: (node: string) => call('POST', `/nodes/${node}/undrain`),
    /** Until every node is up and active (bounded). */
    async waitAllUp(timeoutMs = 60_000): Promise<void> {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        const r = (await call('GET', '/nodes').catch(() => null)) as { nodes?: { up: unknown; state: unknown }[] } | null;
        if (r?.nodes?.every((n) => (n.up === true || n.up === 't') && n.state === 'active')) return;
        await sleep(250);
      }
      throw new Error(`not every node up and active after ${timeoutMs} ms`);
    },
  };
}

/** The node that took a write through Meridian (by the port it ran on). */
async function writeNode(port: number, nodes: readonly PgNode[]): Promise<PgNode> {
  const c = new pg.Client({ host: '127.0.0.1', port, user: BENCH_USER, password: BENCH_PASSWORD, database: BENCH_DB });
  await c.connect();
  try {
    const r = await c.query<{ port: number }>('insert into failover_probe(at) values (now()) returning inet_server_port() as port');
    const n = nodes.find((x) => x.port === r.rows[0]!.port);
    if (n === undefined) throw new Error(`a write ran on port ${r.rows[0]!.port}, no node of this run`);
    return n;
  } finally {
    await c.end();
  }
}

/** Runs the load, applies `fault` after `faultAtS`, and measures the first write after it. */
async function scenario(name: string, port: number, seconds: number, builtin: 'tpcb-like' | 'select-only', fault: () => Promise<string>): Promise<Row> {
  const load = pgbench(port, seconds, builtin);
  await sleep(5000);
  const at = Date.now();
  const first = firstWriteAfter(port, at, seconds * 1000);
  const note = await fault();
  const [l, firstWriteMs] = await Promise.all([load, first]);
  const row: Row = {
    scenario: name,
    transactions: l.processed,
    abortedClients: l.aborted,
    errorLines: l.errorLines,
    firstError: l.firstError,
    replays: 'n/a (not built)',
    firstWriteMs,
    note,
  };
  console.log(
    `[failover] ${name}: ${l.processed} tx, ${l.aborted} clients aborted, ${l.errorLines} error lines, first write after ${firstWriteMs ?? 'never'} ms; ${note}`,
  );
  return row;
}

async function pglogicalRows(factory: PgFactory, root: string, seconds: number, rows: Row[]): Promise<void> {
  const missing = await pglogicalMissing();
  if (missing !== null) {
    for (const s of ['pglogical: write node stopped', 'pglogical: write node hung 10 s', 'rolling upgrade of the write node'])
      rows.push({
        scenario: s,
        transactions: null,
        abortedClients: null,
        errorLines: null,
        firstError: '',
        replays: '',
        firstWriteMs: null,
        note: `not run: ${missing}`,
      });
    return;
  }
  const seed = await factory.createNode({ name: 'seed' });
  await seed.start();
  await initPgbench(seed, 1);
  await seed.sql('create table failover_probe(id uuid primary key default gen_random_uuid(), at timestamptz)', BENCH_DB);
  const nodes: PgNode[] = [];
  for (const n of ['n1', 'n2', 'n3']) nodes.push(await factory.createCopy(seed, n, PGLOGICAL_CONF)); // one at a time: WAL is recycled
  await seed.stop();
  await Promise.all(nodes.map((n) => n.start()));
  await setupPglogicalMesh(nodes, ['failover_probe']);
  const token = randomBytes(24).toString('hex');
  const httpPort = await freePort();
  const opts: MeridianOptions = {
    repoRoot: REPO,
    kind: 'pglogical',
    nodes,
    poolSize: 20,
    readsOnMasters: 'always',
    healthDatabase: BENCH_DB,
    runtime: 'bun',
    extraYaml: [`admin: { http: { host: 127.0.0.1, port: ${httpPort}, token: "${token}" } }`],
  };
  await initMeridianHeartbeat(root, opts);
  const m: Proxy = await startMeridian(root, 'meridian-failover', opts);
  const api = httpApi(httpPort, token);
  await api.waitAllUp();

  let victim = await writeNode(m.port, nodes);
  rows.push(
    await scenario('pglogical: write node stopped (immediate)', m.port, seconds, 'tpcb-like', async () => {
      const busy = await api.activeOn(victim.name);
      process.kill(postmasterPid(victim), 'SIGQUIT'); // PostgreSQL's immediate shutdown
      return `stopped ${victim.name} (${busy} of its backends busy at the fault)`;
    }),
  );
  await victim.start();
  await api.waitAllUp();

  victim = await writeNode(m.port, nodes);
  rows.push(
    await scenario('pglogical: write node hung (SIGSTOP 10 s)', m.port, seconds, 'tpcb-like', async () => {
      const busy = await api.activeOn(victim.name);
      const pids = signalNode(victim, 'SIGSTOP');
      await sleep(10_000);
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGCONT');
        } catch {
          /* gone */
        }
      }
      return `stopped ${victim.name} (${pids.length} processes; ${busy} backends busy at the fault) for 10 s`;
    }),
  );
  await api.waitAllUp();

  victim = await writeNode(m.port, nodes);
  rows.push(
    await scenario('rolling upgrade: DRAIN, stop, start, UNDRAIN the write node', m.port, seconds, 'tpcb-like', async () => {
      const busy = await api.activeOn(victim.name);
      const t0 = Date.now();
      await api.drain(victim.name);
      const drainedMs = Date.now() - t0;
      await victim.stop();
      await victim.start();
      await api.undrain(victim.name);
      return `${victim.name} (${busy} backends busy) drained in ${drainedMs} ms, restarted, undrained after ${Date.now() - t0} ms`;
    }),
  );
  await m.daemon?.stop();
  await Promise.all(nodes.map((n) => n.stop()));
}

async function standbyRow(factory: PgFactory, root: string, seconds: number, rows: Row[]): Promise<void> {
  const primary = await factory.createNode({ name: 'primary', extraConf: ['wal_level = replica', 'hot_standby = on'] });
  await primary.start();
  await initPgbench(primary, 1);
  await primary.sql('create table failover_probe(id uuid primary key default gen_random_uuid(), at timestamptz)', BENCH_DB);
  const standby = await factory.createStandby(primary, 'standby');
  await standby.start();
  await primary.waitStandbys(1);
  const opts: MeridianOptions = { repoRoot: REPO, kind: 'physical', nodes: [primary, standby], poolSize: 20, readsOnMasters: 'fallback', runtime: 'bun' };
  const m = await startMeridian(root, 'meridian-standby', opts);
  rows.push(
    await scenario('a standby lost (kill -9), read-only load', m.port, seconds, 'select-only', async () => {
      process.kill(postmasterPid(standby), 'SIGKILL');
      return 'killed the standby postmaster';
    }),
  );
  await m.daemon?.stop();
  await primary.stop();
}

function markdown(rows: readonly Row[], seconds: number): string {
  const cell = (v: unknown) => String(v ?? '–').replace(/\|/g, '\\|');
  return [
    `# Failover matrix, ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC`,
    '',
    `pgbench, 8 clients, ${seconds} s per scenario, the fault 5 s in; Meridian (production build, Bun) with default health settings`,
    `(probes every 1 s, timeout 1 s, fall 2) and routing.write_wait 2 s. ${os.cpus().length} CPUs, load ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')} at the end. "clients aborted": pgbench ends a client at its first error, so this bounds the failed transactions.`,
    '',
    '| scenario | transactions | clients aborted | error lines | replays | first write after the fault | first error | note |',
    '|---|---:|---:|---:|---|---:|---|---|',
    ...rows.map(
      (r) =>
        `| ${cell(r.scenario)} | ${cell(r.transactions)} | ${cell(r.abortedClients)} | ${cell(r.errorLines)} | ${cell(r.replays)} | ${r.firstWriteMs === null ? '–' : `${r.firstWriteMs} ms`} | ${cell(r.firstError)} | ${cell(r.note)} |`,
    ),
    '| physical + Patroni: switchover | – | – | – | – | – | – | not run: needs the Patroni harness |',
    '| physical + Patroni: kill -9 of the primary | – | – | – | – | – | – | not run: needs the Patroni harness |',
    '',
  ].join('\n');
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { seconds: { type: 'string', default: '20' }, keep: { type: 'boolean', default: false }, 'no-build': { type: 'boolean', default: false } },
  });
  const seconds = Math.max(12, Number(values.seconds));
  const build = await ensureMeridianBuild(REPO, values['no-build'] !== true);
  if (build.ready !== null) throw new Error(build.ready);
  const root = mkdtempSync(join(os.tmpdir(), 'meridian-failover-'));
  const rows: Row[] = [];
  try {
    const factory = new PgFactory(root);
    await pglogicalRows(factory, root, seconds, rows);
    await standbyRow(factory, root, seconds, rows);
  } finally {
    await stopAll();
    if (values.keep !== true) rmSync(root, { recursive: true, force: true });
  }
  const md = markdown(rows, seconds);
  const out = join(REPO, 'bench', 'results', `${new Date().toISOString().slice(0, 10)}-failover.md`);
  writeFileSync(out, md);
  console.log(`\n${md}\nwritten: ${out}`);
  return 0;
}

runMain(main);

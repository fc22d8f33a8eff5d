// The failover matrix (issue 18; a benchmark, not a test): pgbench tpcb-like, 8 clients, through
// Meridian (its production build, on Bun) while a node fails or is taken out, and what the clients
// saw: transactions, clients aborted by an error (and how many of those by 08007, a COMMIT whose
// outcome is unknown), the transactions Meridian replayed (meridian_transaction_replays_total, read
// from /metrics on its admin HTTP listener), the longest transaction pgbench logged (-l), and the
// time from the fault to the first write a new client could make. Scenarios on a 3-node pglogical
// cluster, with routing.transaction_replay on and off: the write node stopped (immediate shutdown),
// the write node hung (SIGSTOP, 10 s), a rolling upgrade of the write node (DRAIN, stop, start,
// UNDRAIN); on a primary + standby: the standby killed (kill -9) under a read-only load (replay
// does not apply to autocommit reads: run once). The Patroni rows are measured by
// test/integration/patroni-*.test.ts and listed as not run here. The same scenarios, with
// assertions, are the tests in test/failover/. Everything runs in a temp dir and is stopped at the
// end (or on Ctrl-C).
//
//   node --import tsx bench/failover-matrix.ts [--replay on|off|both] [--seconds 20] [--keep] [--no-build]
//
// Writes bench/results/<date>-failover.md (and prints the same table).

import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
import { abortAll, killAllSync, run, runMain, sleep, stopAll } from './lib/proc.js';
import { startMeridian, type MeridianOptions, type Proxy } from './lib/proxies.js';

const CLIENT_ENV = { PGPASSWORD: BENCH_PASSWORD, PGSSLMODE: 'disable', PGCONNECT_TIMEOUT: '5' };

type ReplayMode = 'on' | 'off';

interface Row {
  scenario: string;
  /** routing.transaction_replay, or n/a where it does not apply. */
  replay: ReplayMode | 'n/a';
  transactions: number | null;
  abortedClients: number | null;
  /** Of those, aborted by 08007 (COMMIT in flight, outcome unknown). */
  commitUnknown: number | null;
  errorLines: number | null;
  firstError: string;
  replays: string;
  longestMs: number | null;
  firstWriteMs: number | null;
  note: string;
}

interface Load {
  processed: number;
  aborted: number;
  commitUnknown: number;
  errorLines: number;
  firstError: string;
  /** The longest transaction pgbench logged (-l), ms. */
  longestMs: number | null;
}

/** The longest latency (µs, column 3 of `pgbench -l`) in the log files of one run. */
function longestLoggedMs(dir: string): number | null {
  let max: number | null = null;
  for (const f of readdirSync(dir)) {
    for (const line of readFileSync(join(dir, f), 'utf8').split('\n')) {
      const us = Number(line.split(' ')[2]);
      if (line.length > 0 && Number.isFinite(us)) max = Math.max(max ?? 0, us / 1000);
    }
  }
  return max === null ? null : Math.round(max);
}

/** pgbench through `port` for `seconds`; resolves when it ends by itself (bounded by its own -T). */
async function pgbench(port: number, seconds: number, builtin: 'tpcb-like' | 'select-only', logDir: string): Promise<Load> {
  mkdirSync(logDir, { recursive: true });
  const r = await run(
    pgTool('pgbench'),
    [
      '-n',
      '-h',
      '127.0.0.1',
      '-p',
      String(port),
      '-U',
      BENCH_USER,
      '-c',
      '8',
      '-j',
      '2',
      '-T',
      String(seconds),
      '-b',
      builtin,
      '-l',
      `--log-prefix=${join(logDir, 'pgbench')}`,
      BENCH_DB,
    ],
    { env: { ...process.env, ...CLIENT_ENV }, timeoutMs: seconds * 1000 + 60_000, cwd: logDir },
  );
  const errors = r.stderr.split('\n').filter((l) => /error|abort|fatal/i.test(l));
  const aborted = errors.filter((l) => /client \d+ .*aborted/.test(l));
  return {
    processed: Number(/number of transactions actually processed: (\d+)/.exec(r.stdout)?.[1] ?? 0),
    aborted: aborted.length,
    commitUnknown: aborted.filter((l) => /may or may not have committed/.test(l)).length,
    errorLines: errors.length,
    firstError: (errors[0] ?? '').replace(/\s+/g, ' ').slice(0, 160),
    longestMs: longestLoggedMs(logDir),
  };
}

/** meridian_transaction_replays_total by result, from /metrics on the admin HTTP listener ({} without one). */
async function replayCounts(httpPort: number | null): Promise<Record<string, number>> {
  if (httpPort === null) return {};
  const res = await fetch(`http://127.0.0.1:${httpPort}/metrics`, { signal: AbortSignal.timeout(10_000) });
  const out: Record<string, number> = {};
  for (const m of (await res.text()).matchAll(/^meridian_transaction_replays_total\{[^}]*result="(\w+)"[^}]*\} (\d+)/gm)) out[m[1]!] = Number(m[2]);
  return out;
}

/** What changed between two readings of the replay counter, as a cell: "7 started, 7 succeeded". */
function replayCell(before: Record<string, number>, after: Record<string, number>): string {
  const parts = ['started', 'succeeded', 'mismatched', 'refused']
    .map((k) => [k, (after[k] ?? 0) - (before[k] ?? 0)] as const)
    .filter(([k, n]) => n > 0 || k === 'started')
    .map(([k, n]) => `${n} ${k}`);
  return parts.join(', ');
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
    /**
     * The node with the most busy backends now (SHOW NODES' active_backends): where the load runs
     * at the fault. Every node is on loopback, so the nearest master (by probe RTT) may change
     * between scenarios: the victim is picked at the fault, not before the load.
     */
    async busiest(nodes: readonly PgNode[]): Promise<{ node: PgNode; busy: number }> {
      const r = (await call('GET', '/nodes')) as { nodes: { name: string; active_backends: unknown }[] };
      const top = [...r.nodes].sort((a, b) => Number(b.active_backends) - Number(a.active_backends))[0];
      const node = nodes.find((n) => n.name === top?.name);
      if (node === undefined) throw new Error(`no node of this run is busy: ${JSON.stringify(r.nodes)}`);
      return { node, busy: Number(top?.active_backends) };
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

interface ScenarioSpec {
  name: string;
  replay: ReplayMode | 'n/a';
  port: number;
  /** The admin HTTP listener, where /metrics is read (null: replays not counted). */
  httpPort: number | null;
  seconds: number;
  builtin: 'tpcb-like' | 'select-only';
  logDir: string;
}

/** Runs the load, applies `fault` 5 s in, and measures the first write after it. */
async function scenario(spec: ScenarioSpec, fault: () => Promise<string>): Promise<Row> {
  const replaysBefore = await replayCounts(spec.httpPort);
  const load = pgbench(spec.port, spec.seconds, spec.builtin, spec.logDir);
  await sleep(5000);
  const at = Date.now();
  const first = firstWriteAfter(spec.port, at, spec.seconds * 1000);
  const note = await fault();
  const [l, firstWriteMs] = await Promise.all([load, first]);
  const row: Row = {
    scenario: spec.name,
    replay: spec.replay,
    transactions: l.processed,
    abortedClients: l.aborted,
    commitUnknown: l.commitUnknown,
    errorLines: l.errorLines,
    firstError: l.firstError,
    replays: spec.httpPort === null ? 'n/a' : replayCell(replaysBefore, await replayCounts(spec.httpPort)),
    longestMs: l.longestMs,
    firstWriteMs,
    note,
  };
  console.log(
    `[failover] ${spec.name}, replay ${spec.replay}: ${l.processed} tx, ${l.aborted} clients aborted (${l.commitUnknown} by 08007), ${l.errorLines} error lines, ` +
      `replays ${row.replays}, longest transaction ${l.longestMs ?? '–'} ms, first write after ${firstWriteMs ?? 'never'} ms; ${note}`,
  );
  return row;
}

const PGLOGICAL_SCENARIOS = [
  'pglogical: write node stopped (immediate)',
  'pglogical: write node hung (SIGSTOP 10 s)',
  'rolling upgrade: DRAIN, stop, start, UNDRAIN the write node',
];

function notRun(scenario: string, replay: Row['replay'], note: string): Row {
  return {
    scenario,
    replay,
    transactions: null,
    abortedClients: null,
    commitUnknown: null,
    errorLines: null,
    firstError: '',
    replays: '',
    longestMs: null,
    firstWriteMs: null,
    note,
  };
}

/** The three pglogical scenarios through one Meridian whose routing.transaction_replay is `replay`. */
async function pglogicalScenarios(root: string, nodes: PgNode[], seconds: number, replay: ReplayMode, rows: Row[]): Promise<void> {
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
    transactionReplay: replay === 'on',
    extraYaml: [`admin: { http: { host: 127.0.0.1, port: ${httpPort}, token: "${token}" } }`],
  };
  const m: Proxy = await startMeridian(root, `meridian-failover-replay-${replay}`, opts);
  const api = httpApi(httpPort, token);
  await api.waitAllUp();
  const spec = (name: string): ScenarioSpec => ({
    name,
    replay,
    port: m.port,
    httpPort,
    seconds,
    builtin: 'tpcb-like',
    logDir: join(root, 'pgbench-logs', `${replay}-${rows.length}`),
  });

  let victim = nodes[0]!;
  rows.push(
    await scenario(spec(PGLOGICAL_SCENARIOS[0]!), async () => {
      const { node, busy } = await api.busiest(nodes);
      victim = node;
      process.kill(postmasterPid(victim), 'SIGQUIT'); // PostgreSQL's immediate shutdown
      return `stopped ${victim.name} (${busy} of its backends busy at the fault)`;
    }),
  );
  await victim.start();
  await api.waitAllUp();

  rows.push(
    await scenario(spec(PGLOGICAL_SCENARIOS[1]!), async () => {
      const { node, busy } = await api.busiest(nodes);
      victim = node;
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

  rows.push(
    await scenario(spec(PGLOGICAL_SCENARIOS[2]!), async () => {
      const { node, busy } = await api.busiest(nodes);
      victim = node;
      const t0 = Date.now();
      await api.drain(victim.name);
      const drainedMs = Date.now() - t0;
      await victim.stop();
      await victim.start();
      await api.undrain(victim.name);
      return `${victim.name} (${busy} backends busy) drained in ${drainedMs} ms, restarted, undrained after ${Date.now() - t0} ms`;
    }),
  );
  await api.waitAllUp();
  await m.daemon?.stop();
}

async function pglogicalRows(factory: PgFactory, root: string, seconds: number, modes: readonly ReplayMode[], rows: Row[]): Promise<void> {
  const missing = await pglogicalMissing();
  if (missing !== null) {
    for (const replay of modes) for (const s of PGLOGICAL_SCENARIOS) rows.push(notRun(s, replay, `not run: ${missing}`));
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
  await initMeridianHeartbeat(root, {
    repoRoot: REPO,
    kind: 'pglogical',
    nodes,
    poolSize: 20,
    readsOnMasters: 'always',
    healthDatabase: BENCH_DB,
    runtime: 'bun',
  });
  for (const replay of modes) await pglogicalScenarios(root, nodes, seconds, replay, rows);
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
  const spec: ScenarioSpec = {
    name: 'a standby lost (kill -9), read-only load',
    replay: 'n/a',
    port: m.port,
    httpPort: null,
    seconds,
    builtin: 'select-only',
    logDir: join(root, 'pgbench-logs', 'standby'),
  };
  rows.push(
    await scenario(spec, async () => {
      process.kill(postmasterPid(standby), 'SIGKILL');
      return 'killed the standby postmaster';
    }),
  );
  await m.daemon?.stop();
  await primary.stop();
}

function markdown(rows: readonly Row[], seconds: number): string {
  const cell = (v: unknown) => String(v ?? '–').replace(/\|/g, '\\|');
  const ms = (v: number | null) => (v === null ? '–' : `${v} ms`);
  const aborted = (r: Row) => (r.abortedClients === null ? '–' : `${r.abortedClients}${r.abortedClients > 0 ? ` (${r.commitUnknown} by 08007)` : ''}`);
  const patroni = (s: string) => `| ${s} | – | – | – | – | – | – | – | – | not run (see test/integration/patroni-*.test.ts) |`;
  return [
    `# Failover matrix, ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC`,
    '',
    `pgbench, 8 clients, ${seconds} s per scenario, the fault 5 s in; Meridian (production build, Bun) with default health settings`,
    `(probes every 1 s, timeout 1 s, fall 2) and routing.write_wait 2 s, so a request should wait at most fall × interval + timeout + write_wait = 2 × 1 + 1 + 2 = 5 s for a failed node.`,
    `${os.cpus().length} CPUs, load ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')} at the end. "clients aborted": pgbench ends a client at its first error, so this bounds the failed transactions;`,
    '08007: its COMMIT was in flight, the outcome is unknown (never replayed). "longest transaction": from pgbench -l (an aborted',
    "client's last transaction is not logged). The same scenarios with assertions: test/failover/.",
    '',
    '| scenario | transaction_replay | transactions | clients aborted | error lines | replays | longest transaction | first write after the fault | first error | note |',
    '|---|---|---:|---:|---:|---|---:|---:|---|---|',
    ...rows.map(
      (r) =>
        `| ${cell(r.scenario)} | ${r.replay} | ${cell(r.transactions)} | ${aborted(r)} | ${cell(r.errorLines)} | ${cell(r.replays)} | ${ms(r.longestMs)} | ${ms(r.firstWriteMs)} | ${cell(r.firstError)} | ${cell(r.note)} |`,
    ),
    patroni('physical + Patroni: switchover'),
    patroni('physical + Patroni: kill -9 of the primary'),
    '',
  ].join('\n');
}

/** Ctrl-C (or SIGTERM, SIGHUP): stop everything the bench started and remove its temp dir. */
function installSignalHandlers(root: string, keep: boolean): void {
  let isStopping = false;
  const onSignal = (sig: NodeJS.Signals) => {
    if (isStopping) {
      killAllSync();
      process.exit(130);
    }
    isStopping = true;
    abortAll();
    console.error(`\n${sig}: stopping everything the bench started …`);
    void stopAll().finally(() => {
      if (!keep) rmSync(root, { recursive: true, force: true });
      process.exit(130);
    });
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  process.on('exit', killAllSync);
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      replay: { type: 'string', default: 'both' },
      seconds: { type: 'string', default: '20' },
      keep: { type: 'boolean', default: false },
      'no-build': { type: 'boolean', default: false },
    },
  });
  const modes: ReplayMode[] = values.replay === 'both' ? ['on', 'off'] : values.replay === 'on' || values.replay === 'off' ? [values.replay] : [];
  if (modes.length === 0) throw new Error(`--replay takes on, off or both, not ${values.replay}`);
  const seconds = Math.max(12, Number(values.seconds));
  const build = await ensureMeridianBuild(REPO, values['no-build'] !== true);
  if (build.ready !== null) throw new Error(build.ready);
  const root = mkdtempSync(join(os.tmpdir(), 'meridian-failover-'));
  installSignalHandlers(root, values.keep === true);
  const rows: Row[] = [];
  try {
    const factory = new PgFactory(root);
    await pglogicalRows(factory, root, seconds, modes, rows);
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

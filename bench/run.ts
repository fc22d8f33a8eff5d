// Side-by-side benchmark: Meridian against a direct connection, PgBouncer and Pgpool-II, on this
// machine, in one run (issue 7). Starts everything itself from the machine's packages on free loopback
// ports in a temp dir, and stops everything it started (also on Ctrl-C and on errors).
//
//   node --import tsx bench/run.ts [--quick] [--micro] [--help]
//
// Phases: "single" (one node: select-only in three query modes and tpcb-like, clients 1..128),
// "standby" (primary + 2 streaming standbys: the 90/10 routing mix; Pgpool-II load-balancing),
// "pglogical" (3 active-active nodes: the routing mix). Results: bench/results/<date>.json, a chart
// bench/results/<date>.svg and a regenerated bench/RESULTS.md.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import os from 'node:os';
import { describeMachine } from './lib/machine.js';
import { applies, logDirFor, runMatrix, warmUp, type LiveTarget, type MatrixSpec } from './lib/matrix.js';
import { ensureMeridianBuild, runMicro } from './lib/meridian-build.js';
import { HELP, durationFor, estimateSeconds, parseOptions, type BenchOptions } from './lib/options.js';
import { BENCH_DB, PgFactory, initPgbench, type PgNode } from './lib/postgres.js';
import { PGLOGICAL_CONF, pglogicalMissing, setupPglogicalMesh } from './lib/pglogical.js';
import { abortAll, killAllSync, run, stopAll } from './lib/proc.js';
import { meridianYaml, queryVia, startMeridian, startPgbouncer, startPgpool, type MeridianOptions, type Proxy } from './lib/proxies.js';
import { writeReport } from './lib/report.js';
import { findProfile, summarizeProfile, type ProfileSummary } from './lib/cpu-profile.js';
import { countSyscalls, straceAvailable, type SyscallCounts } from './lib/syscalls.js';
import type { BenchResult, PhaseResult, TargetInfo } from './lib/results.js';
import { ROUTING_WORKLOAD, SINGLE_NODE_WORKLOADS, writeRoutingScripts } from './lib/workloads.js';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..');
const PREPARED_NOTE =
  'PgBouncer 1.18 (Debian 12) has no prepared-statement support in transaction pooling, so -M prepared ' +
  'is compared with PgBouncer in session pooling (pool size = clients), as its users would run it.';

interface Ctx {
  opts: BenchOptions;
  root: string;
  factory: PgFactory;
  meridianReady: string | null; // null: dist/ is built; else why Meridian is skipped
  primary: PgNode | null;
  profiles: ProfileSummary[];
  syscalls: SyscallCounts[];
  deadlineMs: number;
}

function target(id: string, label: string): TargetInfo {
  return { id, label, status: 'ok', reason: null, excludes: {} };
}

function wanted(ctx: Ctx, id: string): boolean {
  const base = id.startsWith('pgbouncer') ? 'pgbouncer' : id;
  return ctx.opts.targets === null || ctx.opts.targets.includes(base);
}

/**
 * Starts a proxy (phases start theirs concurrently); its TargetInfo is registered before the first
 * await, so the report keeps the call order. On failure the target stays in the report as skipped.
 */
async function tryStart(ctx: Ctx, phase: PhaseResult, id: string, label: string, start: () => Promise<Proxy>): Promise<LiveTarget | null> {
  if (!wanted(ctx, id)) return null;
  const info = target(id, label);
  phase.targets.push(info);
  if (id === 'meridian' && ctx.meridianReady !== null) {
    info.status = 'skipped';
    info.reason = ctx.meridianReady;
    console.log(`[${phase.id}] meridian skipped: ${info.reason}`);
    return null;
  }
  const t0 = Date.now();
  try {
    const p = await start();
    console.log(`[${phase.id}] ${id} up on port ${p.port} in ${Date.now() - t0} ms`);
    return { info, port: p.port, daemon: p.daemon };
  } catch (e) {
    info.status = 'skipped';
    info.reason = `failed to start: ${(e as Error).message}`.slice(0, 600);
    console.log(`[${phase.id}] ${id} skipped: ${info.reason}`);
    return null;
  }
}

function direct(ctx: Ctx, phase: PhaseResult, node: PgNode, label: string): LiveTarget | null {
  if (!wanted(ctx, 'direct')) return null;
  const info = target('direct', label);
  phase.targets.push(info);
  return { info, port: node.port, daemon: null };
}

function workloadsFor(ctx: Ctx, all: readonly (typeof ROUTING_WORKLOAD)[]) {
  return all.filter((w) => ctx.opts.workloads === null || ctx.opts.workloads.includes(w.id));
}

/** With --syscalls: strace -c on each proxy for one extra run per workload (counts, not timing). */
async function syscallRuns(ctx: Ctx, spec: MatrixSpec): Promise<void> {
  if (!ctx.opts.syscalls) return;
  if (!(await straceAvailable())) {
    spec.phase.notes.push('--syscalls: strace is not installed (apt-get install strace); not counted.');
    return;
  }
  const clients = Math.min(8, Math.max(...spec.clients));
  for (const w of spec.workloads) {
    for (const t of spec.targets) {
      if (!t.daemon || !applies(t, w) || t.daemon.hasExited || Date.now() > ctx.deadlineMs) continue;
      const r = await countSyscalls({
        phase: spec.phase.id, target: t.info.id, proxyPid: t.daemon.pid, port: t.port, workload: w.id, mode: w.mode,
        ...(w.builtin ? { builtin: w.builtin } : { files: spec.routingFiles }),
        clients, txPerClient: 200, outDir: ctx.root,
      });
      if (typeof r === 'string') {
        spec.phase.notes.push(`--syscalls: ${t.info.id}, ${w.id}: ${r}`);
        continue;
      }
      ctx.syscalls.push(r);
      const p = r.perTx;
      console.log(`[${spec.phase.id}] syscalls/tx ${w.id.padEnd(15)} ${t.info.id.padEnd(17)} read ${p.reads.toFixed(2)} write ${p.writes.toFixed(2)} poll ${p.poll.toFixed(2)} futex ${p.futex.toFixed(2)} total ${p.total.toFixed(2)}`);
    }
  }
}

/** With --profile, Meridian writes a .cpuprofile per phase into the temp dir. */
function profiling(ctx: Ctx, phase: PhaseResult): { profileDir?: string } {
  return ctx.opts.profile ? { profileDir: join(ctx.root, `cpu-profile-${phase.id}`) } : {};
}

/** Stops the phase's proxies; with --profile, then summarises the profile Meridian wrote at exit. */
async function stopDaemons(ctx: Ctx, phase: PhaseResult, targets: readonly (LiveTarget | null)[]): Promise<void> {
  for (const t of targets) await t?.daemon?.stop();
  const dir = profiling(ctx, phase).profileDir;
  const file = dir ? findProfile(dir) : null;
  if (!dir || !targets.some((t) => t?.info.id === 'meridian')) return;
  if (!file) {
    phase.notes.push('--profile: Meridian wrote no CPU profile (it did not run, or did not exit cleanly).');
    return;
  }
  try {
    ctx.profiles.push(summarizeProfile(file, phase.id));
    console.log(`[${phase.id}] meridian CPU profile: ${file}`);
  } catch (e) {
    phase.notes.push(`--profile: could not read ${file}: ${(e as Error).message}`);
  }
}

function newPhase(id: PhaseResult['id'], label: string, description: string): PhaseResult {
  return { id, label, description, targets: [], notes: [], cells: [], skipped: null };
}

function matrix(ctx: Ctx, phase: PhaseResult, targets: (LiveTarget | null)[], workloads: MatrixSpec['workloads'], clients: readonly number[], routingFiles: MatrixSpec['routingFiles']): MatrixSpec {
  return {
    phase,
    targets: targets.filter((t): t is LiveTarget => t !== null),
    workloads,
    clients,
    rounds: ctx.opts.rounds,
    durationFor: (c) => durationFor(ctx.opts, c),
    logDir: logDirFor(ctx.root, phase.id),
    routingFiles,
    deadlineMs: ctx.deadlineMs,
  };
}

// ------------------------------------------------------------------------------------------ phase 1

async function phaseSingle(ctx: Ctx, phase: PhaseResult): Promise<void> {
  const workloads = workloadsFor(ctx, SINGLE_NODE_WORKLOADS);
  if (workloads.length === 0) {
    phase.skipped = 'no single-node workload selected';
    return;
  }
  const primary = ctx.primary!;
  const maxClients = Math.max(...ctx.opts.clients);
  const meridianOpts: MeridianOptions = { repoRoot: REPO, kind: 'physical', nodes: [primary], poolSize: ctx.opts.poolSize, readsOnMasters: 'fallback', ...profiling(ctx, phase) };
  const hasPrepared = workloads.some((w) => w.id === 'select-prepared');
  const hasOthers = workloads.some((w) => w.id !== 'select-prepared');
  const targets = await Promise.all([
    direct(ctx, phase, primary, 'direct'),
    hasOthers ? tryStart(ctx, phase, 'pgbouncer', 'PgBouncer (transaction)', () => startPgbouncer(ctx.root, 'pgbouncer', primary, 'transaction', ctx.opts.poolSize)) : null,
    hasPrepared ? tryStart(ctx, phase, 'pgbouncer-session', 'PgBouncer (session)', () => startPgbouncer(ctx.root, 'pgbouncer-session', primary, 'session', maxClients + 8)) : null,
    tryStart(ctx, phase, 'pgpool', 'Pgpool-II', () =>
      startPgpool(ctx.root, 'pgpool', { backends: [primary], loadBalance: false, children: maxClients + 8, primaryWeight: 1, clusteringMode: 'streaming_replication' }),
    ),
    tryStart(ctx, phase, 'meridian', 'Meridian', () => startMeridian(ctx.root, 'meridian', meridianOpts)),
  ]);
  const byId = (id: string) => phase.targets.find((t) => t.id === id);
  const tx = byId('pgbouncer');
  if (tx) tx.excludes['select-prepared'] = 'no prepared statements in transaction pooling in 1.18: see PgBouncer (session)';
  const sess = byId('pgbouncer-session');
  if (sess) for (const w of workloads) if (w.id !== 'select-prepared') sess.excludes[w.id] = 'only used for -M prepared';
  if (hasPrepared && sess) phase.notes.push(PREPARED_NOTE);
  phase.notes.push(
    `Pool size ${ctx.opts.poolSize} server connections for PgBouncer (transaction) and Meridian; Pgpool-II has one process ` +
      `per client slot (num_init_children = ${maxClients + 8}, max_pool = 1), streaming_replication mode with one backend.`,
  );
  const spec = matrix(ctx, phase, targets, workloads, ctx.opts.clients, []);
  await warmUp(spec);
  await runMatrix(spec);
  await syscallRuns(ctx, spec);
  await stopDaemons(ctx, phase, targets);
}

// ------------------------------------------------------------------------------------------ phase 2

async function servedBy(port: number, nodes: readonly PgNode[], n: number): Promise<string> {
  const counts = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const p = Number(await queryVia(port, 'SELECT inet_server_port()'));
    const name = nodes.find((x) => x.port === p)?.name ?? `port ${p}`;
    counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  return [...counts].map(([k, v]) => `${k} ×${v}`).join(', ');
}

async function phaseStandby(ctx: Ctx, phase: PhaseResult): Promise<void> {
  if (!workloadsFor(ctx, [ROUTING_WORKLOAD]).length) {
    phase.skipped = 'routing workload not selected';
    return;
  }
  const primary = ctx.primary!;
  const t0 = Date.now();
  const [s1, s2] = await Promise.all([ctx.factory.createStandby(primary, 'standby1'), ctx.factory.createStandby(primary, 'standby2')]);
  await Promise.all([s1.start(), s2.start()]);
  await primary.waitStandbys(2);
  console.log(`[standby] primary + 2 standbys streaming in ${Date.now() - t0} ms`);
  const nodes = [primary, s1, s2];
  const maxClients = Math.max(...ctx.opts.routingClients);
  const files = writeRoutingScripts(ctx.root, ctx.opts.scale);
  const targets = await Promise.all([
    direct(ctx, phase, primary, 'direct (primary only)'),
    // PgBouncer cannot split reads; it stays as the reference for "× PgBouncer" (left out of --quick for time).
    ctx.opts.quick ? null : tryStart(ctx, phase, 'pgbouncer', 'PgBouncer (transaction, primary only)', () => startPgbouncer(ctx.root, 'pgbouncer-sb', primary, 'transaction', ctx.opts.poolSize)),
    tryStart(ctx, phase, 'pgpool', 'Pgpool-II (load balancing)', () =>
      startPgpool(ctx.root, 'pgpool-sb', { backends: nodes, loadBalance: true, children: maxClients + 8, primaryWeight: 0, clusteringMode: 'streaming_replication' }),
    ),
    tryStart(ctx, phase, 'meridian', 'Meridian', () =>
      startMeridian(ctx.root, 'meridian-sb', { repoRoot: REPO, kind: 'physical', nodes, poolSize: ctx.opts.poolSize, readsOnMasters: 'fallback', ...profiling(ctx, phase) }),
    ),
  ]);
  phase.notes.push(
    'Pgpool-II: streaming_replication mode, load_balance_mode on (session-level, its default), primary weight 0 so reads go to the standbys; ' +
      'Meridian: kind physical, reads_on_masters fallback. Direct and PgBouncer send everything to the primary.',
  );
  for (const t of targets) {
    if (!t || t.info.id === 'direct' || t.info.id === 'pgbouncer') continue;
    try {
      const s = await servedBy(t.port, nodes, 6);
      phase.notes.push(`${t.info.label}: 6 new sessions running SELECT inet_server_port() were served by ${s}.`);
    } catch (e) {
      phase.notes.push(`${t.info.label}: routing check failed: ${(e as Error).message}`);
    }
  }
  const spec = matrix(ctx, phase, targets, [ROUTING_WORKLOAD], ctx.opts.routingClients, files);
  await warmUp(spec);
  await runMatrix(spec);
  await syscallRuns(ctx, spec);
  await stopDaemons(ctx, phase, targets);
  await s1.stop();
  await s2.stop();
}

// ------------------------------------------------------------------------------------------ phase 3

async function meridianHeartbeat(ctx: Ctx, nodes: readonly PgNode[], opts: MeridianOptions): Promise<void> {
  const conf = join(ctx.root, 'meridian-heartbeat.yaml');
  writeFileSync(conf, meridianYaml(1, opts));
  const r = await run(process.execPath, [join(REPO, 'dist', 'cli.js'), 'init-heartbeat', '--config', conf], { cwd: REPO, timeoutMs: 60_000 });
  if (r.code !== 0) throw new Error(`meridian init-heartbeat failed: ${(r.stderr || r.stdout).trim().slice(0, 300)}`);
  // init-heartbeat creates the table on every master and adds it to pglogical's 'default' set itself.
}

async function phasePglogical(ctx: Ctx, phase: PhaseResult): Promise<void> {
  if (!workloadsFor(ctx, [ROUTING_WORKLOAD]).length) {
    phase.skipped = 'routing workload not selected';
    return;
  }
  const missing = await pglogicalMissing();
  if (missing) {
    phase.skipped = missing;
    return;
  }
  const primary = ctx.primary!;
  const t0 = Date.now();
  const nodes = await Promise.all(['n1', 'n2', 'n3'].map((name) => ctx.factory.createCopy(primary, name, PGLOGICAL_CONF)));
  await primary.stop();
  await Promise.all(nodes.map((n) => n.start()));
  await setupPglogicalMesh(nodes);
  console.log(`[pglogical] 3 nodes replicating (6 subscriptions) in ${Date.now() - t0} ms`);
  const maxClients = Math.max(...ctx.opts.routingClients);
  const files = writeRoutingScripts(ctx.root, ctx.opts.scale);
  // The heartbeat table must live in the replicated database, so Meridian probes that one.
  const mOpts: MeridianOptions = { repoRoot: REPO, kind: 'pglogical', nodes, poolSize: ctx.opts.poolSize, readsOnMasters: 'always', healthDatabase: BENCH_DB, ...profiling(ctx, phase) };
  const targets = await Promise.all([
    direct(ctx, phase, nodes[0]!, 'direct (n1 only)'),
    tryStart(ctx, phase, 'pgpool', 'Pgpool-II (logical replication mode)', () =>
      startPgpool(ctx.root, 'pgpool-mm', { backends: nodes, loadBalance: true, children: maxClients + 8, primaryWeight: 1, clusteringMode: 'logical_replication' }),
    ),
    tryStart(ctx, phase, 'meridian', 'Meridian', async () => {
      await meridianHeartbeat(ctx, nodes, mOpts);
      return startMeridian(ctx.root, 'meridian-mm', mOpts);
    }),
  ]);
  phase.notes.push(
    'pglogical 2.4 full mesh (forward_origins {}, last_update_wins). Pgpool-II in logical_replication mode sends writes to n1 and ' +
      'balances reads over all three; Meridian (kind pglogical, reads_on_masters always) writes to the nearest master and reads from the ' +
      'least-lagging node. Direct sends everything to n1.',
  );
  for (const t of targets) {
    if (!t || t.info.id === 'direct') continue;
    try {
      phase.notes.push(`${t.info.label}: 6 new sessions running SELECT inet_server_port() were served by ${await servedBy(t.port, nodes, 6)}.`);
    } catch (e) {
      phase.notes.push(`${t.info.label}: routing check failed: ${(e as Error).message}`);
    }
  }
  const spec = matrix(ctx, phase, targets, [ROUTING_WORKLOAD], ctx.opts.routingClients, files);
  await warmUp(spec);
  await runMatrix(spec);
  await syscallRuns(ctx, spec);
  await stopDaemons(ctx, phase, targets);
  for (const n of nodes) await n.stop();
}

// ------------------------------------------------------------------------------------------ main

async function runPhase(ctx: Ctx, phase: PhaseResult, body: (ctx: Ctx, phase: PhaseResult) => Promise<void>): Promise<void> {
  const t0 = Date.now();
  console.log(`\n== ${phase.label}`);
  try {
    if (!ctx.primary) throw new Error('the primary node is not available');
    if (Date.now() > ctx.deadlineMs) throw new Error(`time budget of ${ctx.opts.budgetMin} min reached before this phase`);
    await body(ctx, phase);
  } catch (e) {
    phase.skipped = `error: ${(e as Error).message}`.slice(0, 800);
    console.log(`[${phase.id}] ${phase.skipped}`);
  }
  console.log(`[${phase.id}] done in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
}

function installSignalHandlers(root: () => string | null, keep: boolean): void {
  let stopping = false;
  const onSignal = (sig: NodeJS.Signals) => {
    if (stopping) {
      killAllSync();
      process.exit(130);
    }
    stopping = true;
    abortAll();
    console.error(`\n${sig}: stopping everything the bench started …`);
    void stopAll().finally(() => {
      const dir = root();
      if (dir && !keep) rmSync(dir, { recursive: true, force: true });
      process.exit(130);
    });
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  process.on('exit', killAllSync);
}

/** A run limited to some workloads, targets, phases or client counts does not replace RESULTS.md. */
function isSubset(o: BenchOptions): boolean {
  const same = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((x, i) => x === b[i]);
  return (
    o.workloads !== null || o.targets !== null || o.phases.length < 3 || o.rounds < 3 ||
    !same(o.clients, [1, 8, 32, 128]) || !same(o.routingClients, [8, 32, 128])
  );
}

async function main(): Promise<number> {
  const opts = parseOptions(process.argv.slice(2));
  if (opts === 'help') {
    process.stdout.write(HELP);
    return 0;
  }
  if (os.platform() !== 'linux') throw new Error('the bench reads /proc: Linux only');
  if (opts.micro) return runMicro(REPO);
  let root: string | null = null;
  installSignalHandlers(() => root, opts.keep);
  const started = new Date();
  const machine = await describeMachine(REPO);
  const estimate = estimateSeconds(opts, opts.targets?.length ?? 4);
  console.log(
    `bench: ${opts.quick ? 'quick' : 'full'} run, ${opts.rounds} rounds × ${opts.durationS} s, clients ${opts.clients.join(',')}, ` +
      `routing clients ${opts.routingClients.join(',')}; ${machine.cpus} CPUs, load ${machine.loadAvgStart.join(' ')}; ` +
      `about ${Math.ceil(estimate / 60)} min`,
  );
  const build = opts.targets === null || opts.targets.includes('meridian') ? await ensureMeridianBuild(REPO, opts.build) : { ready: 'not selected', detail: 'not selected' };
  console.log(`meridian: ${build.ready ?? 'dist/ is built'} (${build.detail})`);
  root = mkdtempSync(join(os.tmpdir(), 'meridian-bench-'));
  const deadlineMs = opts.budgetMin > 0 ? started.getTime() + opts.budgetMin * 60_000 : Infinity;
  const ctx: Ctx = { opts, root, factory: new PgFactory(root), meridianReady: build.ready, primary: null, profiles: [], syscalls: [], deadlineMs };
  const phases: PhaseResult[] = [];
  const notes: string[] = [];
  if (opts.quickClientsNote) notes.push(opts.quickClientsNote);
  if (opts.profile) notes.push('Meridian ran under node --cpu-prof (--profile): its numbers include the profiler\'s overhead.');
  try {
    const t0 = Date.now();
    const primary = await ctx.factory.createNode({ name: 'primary' });
    await primary.start();
    await initPgbench(primary, opts.scale);
    ctx.primary = primary;
    console.log(`postgres up and pgbench -i -s ${opts.scale} loaded in ${((Date.now() - t0) / 1000).toFixed(1)} s (port ${primary.port})`);
  } catch (e) {
    notes.push(`PostgreSQL could not be set up: ${(e as Error).message}`);
    console.log(notes[notes.length - 1]);
  }
  const plan: [PhaseResult['id'], string, string, typeof phaseSingle][] = [
    ['single', 'Single node', 'One PostgreSQL 15 node; every target in front of it.', phaseSingle],
    ['standby', 'Primary + 2 streaming standbys (routing)', 'The 90/10 routing mix; proxies that can split reads send them to the standbys.', phaseStandby],
    ['pglogical', '3-node active-active pglogical cluster (routing)', 'The 90/10 routing mix on three pglogical masters.', phasePglogical],
  ];
  for (const [id, label, description, body] of plan) {
    if (!opts.phases.includes(id)) continue;
    const phase = newPhase(id, label, description);
    phases.push(phase);
    await runPhase(ctx, phase, body);
  }
  await stopAll();
  machine.loadAvgEnd = os.loadavg().map((n) => Math.round(n * 100) / 100);
  const finished = new Date();
  const nominalMin = opts.quick ? 3 : 15;
  const tookMin = (finished.getTime() - started.getTime()) / 60_000;
  if (tookMin > nominalMin) {
    notes.push(
      `This run took ${tookMin.toFixed(1)} min, more than the nominal ${nominalMin} min (the plan for an idle 2-core machine): ` +
        `load average ${machine.loadAvgStart[0]} at the start, ${machine.loadAvgEnd[0]} at the end (other work shares the cores; ` +
        `starting a backend, and so connecting directly, slows down most).`,
    );
  }
  const result: BenchResult = {
    version: 1,
    mode: opts.quick ? 'quick' : isSubset(opts) ? 'custom' : 'full',
    startedAt: started.toISOString(),
    finishedAt: finished.toISOString(),
    wallS: Math.round((finished.getTime() - started.getTime()) / 1000),
    options: opts,
    machine,
    meridian: { status: build.ready ?? 'built', build: build.detail },
    phases,
    notes,
    profiles: ctx.profiles,
    syscalls: ctx.syscalls,
  };
  const written = writeReport(REPO, result, opts.outDir);
  console.log(`\nresults: ${written.join(', ')}  (wall ${result.wallS} s)`);
  if (!opts.keep) rmSync(root, { recursive: true, force: true });
  else console.log(`kept ${root}`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  async (e: unknown) => {
    console.error(e instanceof Error ? e.stack : e);
    await stopAll();
    process.exit(1);
  },
);

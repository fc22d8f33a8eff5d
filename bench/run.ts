// Side-by-side benchmark: Meridian (on Node.js, on Bun, and with 2 workers) against a direct connection,
// PgBouncer, Pgpool-II and a bare relay per runtime, on this machine, in one run (issues 7 and 17). Starts everything itself from the machine's packages on free loopback
// ports in a temp dir, and stops everything it started (also on Ctrl-C and on errors).
//
//   node --import tsx bench/run.ts [--quick] [--micro] [--help]
//
// Phases: "single" (one node: select-only in three query modes and tpcb-like, clients 1..128),
// "standby" (primary + 2 streaming standbys: the 90/10 routing mix; Pgpool-II load-balancing),
// "pglogical" (3 active-active nodes: the routing mix). Results: bench/results/<date>.json, a chart
// bench/results/<date>.svg and a regenerated bench/RESULTS.md.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import os from 'node:os';
import { describeMachine } from './lib/machine.js';
import { buildBaseline, type Baseline } from './lib/baseline-build.js';
import { ensureMeridianBuild, runMicro } from './lib/meridian-build.js';
import { HELP, estimateSeconds, parseOptions, targetsPerCell, type BenchOptions } from './lib/options.js';
import { newPhase, REPO, type Ctx } from './lib/phase-support.js';
import { phasePglogical, phaseSingle, phaseStandby } from './lib/phases.js';
import { PgFactory, initPgbench } from './lib/postgres.js';
import { abortAll, killAllSync, runMain, stopAll } from './lib/proc.js';
import { writeReport } from './lib/report.js';
import type { BenchResult, PhaseResult } from './lib/results.js';

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
    o.workloads !== null ||
    o.targets !== null ||
    o.baseline !== null ||
    o.phases.length < 3 ||
    o.rounds < 3 ||
    !same(o.clients, [1, 8, 32, 128]) ||
    !same(o.routingClients, [8, 32, 128])
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
  if (opts.render !== null) {
    const result = JSON.parse(readFileSync(opts.render, 'utf8')) as BenchResult;
    console.log(`report written again: ${writeReport(REPO, result, opts.outDir).join(', ')}`);
    return 0;
  }
  let root: string | null = null;
  installSignalHandlers(() => root, opts.keep);
  const started = new Date();
  const machine = await describeMachine(REPO);
  const estimate = estimateSeconds(opts, targetsPerCell(opts));
  console.log(
    `bench: ${opts.quick ? 'quick' : isSubset(opts) ? 'custom' : 'full'} run, ${opts.rounds} rounds × ${opts.durationS} s, clients ${opts.clients.join(',')}, ` +
      `routing clients ${opts.routingClients.join(',')}; ${machine.cpus} CPUs, load ${machine.loadAvgStart.join(' ')}; ` +
      `about ${Math.ceil(estimate / 60)} min`,
  );
  const build =
    opts.targets === null || opts.targets.some((t) => t.startsWith('meridian'))
      ? await ensureMeridianBuild(REPO, opts.build)
      : { ready: 'not selected', detail: 'not selected' };
  console.log(`meridian: ${build.ready ?? 'dist/ is built'} (${build.detail})`);
  root = mkdtempSync(join(os.tmpdir(), 'meridian-bench-'));
  const deadlineMs = opts.budgetMin > 0 ? started.getTime() + opts.budgetMin * 60_000 : Infinity;
  const phases: PhaseResult[] = [];
  const notes: string[] = [];
  let baseline: Baseline | null = null;
  if (opts.baseline !== null && build.ready === null) {
    try {
      baseline = await buildBaseline(REPO, opts.baseline, root);
    } catch (e) {
      notes.push(`baseline not run: ${(e as Error).message}`.slice(0, 600));
      console.log(notes[notes.length - 1]);
    }
  }
  const ctx: Ctx = { opts, root, factory: new PgFactory(root), meridianReady: build.ready, primary: null, profiles: [], syscalls: [], deadlineMs, baseline };
  if (opts.quickClientsNote) notes.push(opts.quickClientsNote);
  if (opts.profile) notes.push("Meridian ran under node --cpu-prof and bun --cpu-prof (--profile): its numbers include the profilers' overhead.");
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
  const nominalMin = Math.max(opts.quick ? 3 : 15, Math.ceil(estimate / 60));
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

runMain(main);

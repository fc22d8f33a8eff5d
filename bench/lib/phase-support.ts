// Bench support: what the phases share: the run context, starting targets (a proxy that fails to
// start is reported as skipped, never fatal), stopping them (collecting Meridian's CPU profile with
// --profile), the --syscalls runs, and building a phase's matrix spec.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findProfile, summarizeProfile, type ProfileSummary } from './cpu-profile.js';
import { applies, logDirFor, type LiveTarget, type MatrixSpec } from './matrix.js';
import { durationFor, type BenchOptions } from './options.js';
import type { PgFactory, PgNode } from './postgres.js';
import { startMeridian, workersSupported, type MeridianOptions, type Proxy } from './proxies.js';
import type { PhaseResult, TargetInfo } from './results.js';
import { countSyscalls, straceAvailable, type SyscallCounts } from './syscalls.js';
import type { Workload } from './workloads.js';
import type { Baseline } from './baseline-build.js';

export const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export interface Ctx {
  opts: BenchOptions;
  root: string;
  factory: PgFactory;
  meridianReady: string | null; // null: dist/ is built; else why Meridian is skipped
  primary: PgNode | null;
  profiles: ProfileSummary[];
  syscalls: SyscallCounts[];
  deadlineMs: number;
  /** --baseline: the earlier build run beside Meridian (target meridian-base), or null. */
  baseline: Baseline | null;
}

export function target(id: string, label: string): TargetInfo {
  return { id, label, status: 'ok', reason: null, excludes: {} };
}

/** `--targets` names: PgBouncer's two modes go by `pgbouncer`, the --baseline build by `meridian`. */
export function wanted(ctx: Ctx, id: string): boolean {
  const base = id.startsWith('pgbouncer') ? 'pgbouncer' : id === 'meridian-base' ? 'meridian' : id;
  return ctx.opts.targets === null || ctx.opts.targets.includes(base);
}

/** Thrown by a target's start when it does not apply (not a failure): the reason is reported as is. */
export class NotApplicable extends Error {}

/**
 * Starts a proxy (phases start theirs concurrently); its TargetInfo is registered before the first
 * await, so the report keeps the call order. On failure the target stays in the report as skipped.
 */
export async function tryStart(ctx: Ctx, phase: PhaseResult, id: string, label: string, start: () => Promise<Proxy>): Promise<LiveTarget | null> {
  if (!wanted(ctx, id)) return null;
  const info = target(id, label);
  phase.targets.push(info);
  if (id.startsWith('meridian') && ctx.meridianReady !== null) {
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
    info.reason = (e instanceof NotApplicable ? (e as Error).message : `failed to start: ${(e as Error).message}`).slice(0, 600);
    console.log(`[${phase.id}] ${id} skipped: ${info.reason}`);
    return null;
  }
}

export function direct(ctx: Ctx, phase: PhaseResult, node: PgNode, label: string): LiveTarget | null {
  if (!wanted(ctx, 'direct')) return null;
  const info = target('direct', label);
  phase.targets.push(info);
  return { info, port: node.port, daemon: null };
}

export function workloadsFor(ctx: Ctx, all: readonly Workload[]): Workload[] {
  return all.filter((w) => ctx.opts.workloads === null || ctx.opts.workloads.includes(w.id));
}

/** With --syscalls: strace -c on each proxy for one extra run per workload (counts, not timing). */
export async function syscallRuns(ctx: Ctx, spec: MatrixSpec): Promise<void> {
  if (!ctx.opts.syscalls) return;
  if (!(await straceAvailable())) {
    spec.phase.notes.push('--syscalls: strace is not installed (apt-get install strace); not counted.');
    return;
  }
  const clients = Math.min(8, Math.max(...spec.clients));
  for (const w of spec.workloads) {
    for (const t of spec.targets) {
      if (!t.daemon || !applies(t, w, clients) || t.daemon.hasExited || Date.now() > ctx.deadlineMs) continue;
      const r = await countSyscalls({
        phase: spec.phase.id,
        target: t.info.id,
        proxyPid: t.daemon.pid,
        port: t.port,
        workload: w.id,
        mode: w.mode,
        ...(w.builtin ? { builtin: w.builtin } : { files: spec.routingFiles }),
        clients,
        txPerClient: 200,
        outDir: ctx.root,
      });
      if (typeof r === 'string') {
        spec.phase.notes.push(`--syscalls: ${t.info.id}, ${w.id}: ${r}`);
        continue;
      }
      ctx.syscalls.push(r);
      const p = r.perTx;
      console.log(
        `[${spec.phase.id}] syscalls/tx ${w.id.padEnd(15)} ${t.info.id.padEnd(17)} read ${p.reads.toFixed(2)} write ${p.writes.toFixed(2)} poll ${p.poll.toFixed(2)} futex ${p.futex.toFixed(2)} total ${p.total.toFixed(2)}`,
      );
    }
  }
}

/** With --profile, Meridian writes a .cpuprofile per phase into the temp dir. */
export function profiling(ctx: Ctx, phase: PhaseResult): { profileDir?: string } {
  return ctx.opts.profile ? { profileDir: join(ctx.root, `cpu-profile-${phase.id}`) } : {};
}

/** Where the Bun target writes its profile: the phase's directory with a suffix. */
function bunProfileDir(dir: string | undefined): string | undefined {
  return dir === undefined ? undefined : `${dir}-bun`;
}

/** Stops the phase's proxies; with --profile, then summarises the profiles Meridian wrote at exit (each runtime). */
export async function stopDaemons(ctx: Ctx, phase: PhaseResult, targets: readonly (LiveTarget | null)[]): Promise<void> {
  for (const t of targets) await t?.daemon?.stop();
  const dir = profiling(ctx, phase).profileDir;
  if (!dir) return;
  for (const [id, label, where] of [
    ['meridian', 'Node.js', dir],
    ['meridian-bun', 'Bun', bunProfileDir(dir)!],
  ] as const) {
    if (!targets.some((t) => t?.info.id === id)) continue;
    const file = findProfile(where);
    if (!file) {
      phase.notes.push(`--profile: Meridian on ${label} wrote no CPU profile (it did not run, or did not exit cleanly).`);
      continue;
    }
    try {
      ctx.profiles.push(summarizeProfile(file, `${phase.id}, Meridian on ${label}`));
      console.log(`[${phase.id}] ${id} CPU profile: ${file}`);
    } catch (e) {
      phase.notes.push(`--profile: could not read ${file}: ${(e as Error).message}`);
    }
  }
}

export function newPhase(id: PhaseResult['id'], label: string, description: string): PhaseResult {
  return { id, label, description, targets: [], notes: [], cells: [], skipped: null };
}

export function matrix(
  ctx: Ctx,
  phase: PhaseResult,
  targets: (LiveTarget | null)[],
  workloads: MatrixSpec['workloads'],
  clients: readonly number[],
  routingFiles: MatrixSpec['routingFiles'],
): MatrixSpec {
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

/** Meridian as built, on Node.js with one worker (`meridian`), the reference for the goals. */
export function meridianTarget(ctx: Ctx, phase: PhaseResult, dirId: string, opts: MeridianOptions): Promise<LiveTarget | null> {
  return tryStart(ctx, phase, 'meridian', 'Meridian on Node.js', () => startMeridian(ctx.root, dirId, { ...opts, runtime: 'node' }));
}

/**
 * The same build on Bun (`meridian-bun`: the default runtime, Bun's native sockets; profiled with
 * --profile like `meridian`) and on Node.js with `workers: 2` (`meridian-w2`, only when the build's
 * config accepts the key; not profiled).
 */
export function meridianVariants(ctx: Ctx, phase: PhaseResult, dirId: string, opts: MeridianOptions): Promise<LiveTarget | null>[] {
  const base: MeridianOptions = { ...opts, profileDir: undefined };
  return [
    tryStart(ctx, phase, 'meridian-bun', 'Meridian on Bun', () =>
      startMeridian(ctx.root, `${dirId}-bun`, { ...base, runtime: 'bun', profileDir: bunProfileDir(opts.profileDir) }),
    ),
    tryStart(ctx, phase, 'meridian-w2', 'Meridian on Node.js, 2 workers', async () => {
      const w2: MeridianOptions = { ...base, runtime: 'node', workers: 2 };
      const why = await workersSupported(w2, join(ctx.root, `${dirId}-w2`));
      if (why !== null) throw new NotApplicable(why);
      return startMeridian(ctx.root, `${dirId}-w2`, w2);
    }),
  ];
}

/** --baseline: Meridian at the earlier commit, started like the current one (null when not asked for). */
export function baselineTarget(ctx: Ctx, phase: PhaseResult, id: string, opts: MeridianOptions): Promise<LiveTarget | null> | null {
  const b = ctx.baseline;
  if (b === null) return null;
  return tryStart(ctx, phase, 'meridian-base', `Meridian at ${b.commit}`, () =>
    startMeridian(ctx.root, id, { ...opts, repoRoot: b.repoRoot, profileDir: undefined }),
  );
}

// Bench support: every process the harness starts goes through here, so one registry can stop them all
// (in reverse start order) on success, on error and on Ctrl-C. Short commands (initdb, pgbench, psql)
// run to completion with a timeout; daemons (postgres, pgbouncer, pgpool, meridian) run in the
// foreground of their own process group, so the terminal's Ctrl-C reaches only the harness, which
// then shuts them down in order. Nothing runs through a shell.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  input?: string;
  timeoutMs?: number;
  /** Run as the PostgreSQL OS user (via runuser) when we are root. */
  asPgUser?: boolean;
}

export interface RunResult {
  command: string;
  code: number | null;
  stdout: string;
  stderr: string;
  durationMs: number;
  timedOut: boolean;
}

export const PG_OS_USER = 'postgres';
export const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

/** uid/gid of the PostgreSQL OS user, for spawning daemons directly as that user. */
export function pgUserIds(): { uid: number; gid: number } | null {
  if (!isRoot) return null;
  const uid = spawnSync('id', ['-u', PG_OS_USER], { encoding: 'utf8' });
  const gid = spawnSync('id', ['-g', PG_OS_USER], { encoding: 'utf8' });
  if (uid.status !== 0 || gid.status !== 0) throw new Error(`OS user ${PG_OS_USER} is missing (needed to run PostgreSQL as root)`);
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

const live = new Set<ChildProcess>();
let aborted = false;

/** After this, nothing new starts: run() and startDaemon() throw (used on Ctrl-C). */
export function abortAll(): void {
  aborted = true;
}

export function isAborted(): boolean {
  return aborted;
}

/** Runs a command to completion; resolves whatever the exit code. */
export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const started = performance.now();
  let file = cmd;
  let argv = [...args];
  if (opts.asPgUser && isRoot) {
    file = 'runuser';
    argv = ['-u', PG_OS_USER, '--', cmd, ...args];
  }
  const command = [cmd, ...args].join(' ');
  if (aborted) return Promise.reject(new Error('bench aborted'));
  return new Promise((resolve) => {
    const child = spawn(file, argv, {
      cwd: opts.cwd ?? (opts.asPgUser ? '/tmp' : undefined),
      env: opts.env ?? process.env,
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      detached: true, // own process group: Ctrl-C goes to the harness only
    });
    live.add(child);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on('data', (c: Buffer) => out.push(c));
    child.stderr?.on('data', (c: Buffer) => err.push(c));
    if (opts.input !== undefined && child.stdin) {
      child.stdin.on('error', () => {});
      child.stdin.end(opts.input);
    }
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs ?? 60_000);
    const finish = (code: number | null) => {
      clearTimeout(timer);
      live.delete(child);
      resolve({
        command,
        code,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        durationMs: performance.now() - started,
        timedOut,
      });
    };
    child.on('error', (e) => {
      err.push(Buffer.from(String(e)));
      finish(null);
    });
    child.on('close', (code) => finish(code));
  });
}

/** Like run, but throws with the output tail when the command fails. */
export async function runChecked(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) {
    const why = r.timedOut ? 'timed out' : `exited with ${r.code}`;
    throw new Error(`${r.command} ${why}\n${tail(r.stderr || r.stdout, 15)}`);
  }
  return r;
}

export function tail(text: string, lines: number): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

export interface DaemonOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  logFile: string;
  asPgUser?: boolean;
  /** Signal for a clean stop (postgres: SIGINT = fast shutdown; pgbouncer: SIGINT waits for clients). */
  stopSignal?: NodeJS.Signals;
  /** How long a clean stop may take before SIGKILL (default 5 s). */
  stopGraceMs?: number;
}

/** A long-running process we started; pid is the process itself (no wrapper). */
export class Daemon {
  readonly name: string;
  readonly child: ChildProcess;
  readonly logFile: string;
  readonly stopSignal: NodeJS.Signals;
  readonly stopGraceMs: number;
  exitCode: number | null = null;
  hasExited = false;
  private readonly exited: Promise<void>;

  constructor(name: string, child: ChildProcess, logFile: string, stopSignal: NodeJS.Signals, stopGraceMs: number) {
    this.name = name;
    this.child = child;
    this.logFile = logFile;
    this.stopSignal = stopSignal;
    this.stopGraceMs = stopGraceMs;
    this.exited = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        this.hasExited = true;
        this.exitCode = code ?? (signal ? 128 : null);
        live.delete(child);
        daemons.delete(this);
        resolve();
      });
      child.on('error', () => {
        this.hasExited = true;
        live.delete(child);
        daemons.delete(this);
        resolve();
      });
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** Sends the stop signal, waits up to graceMs, then SIGKILLs the whole process group. */
  async stop(graceMs = this.stopGraceMs): Promise<void> {
    if (this.hasExited) return;
    try {
      this.child.kill(this.stopSignal);
    } catch {
      /* already gone */
    }
    const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), graceMs).unref());
    if ((await Promise.race([this.exited.then(() => 'exited' as const), timer])) === 'timeout') {
      killGroup(this.pid, 'SIGKILL');
      await Promise.race([this.exited, new Promise((r) => setTimeout(r, 2000).unref())]);
    }
    // Forked children (pgpool's, postgres backends) that outlived the leader.
    killGroup(this.pid, 'SIGKILL');
  }

  waitExit(): Promise<void> {
    return this.exited;
  }
}

const daemons = new Set<Daemon>();
const startOrder: Daemon[] = [];

function killGroup(pid: number, sig: NodeJS.Signals): void {
  if (pid <= 0) return;
  try {
    process.kill(-pid, sig);
  } catch {
    /* group gone */
  }
}

export function startDaemon(name: string, cmd: string, args: readonly string[], opts: DaemonOptions): Daemon {
  if (aborted) throw new Error('bench aborted');
  const ids = opts.asPgUser ? pgUserIds() : null;
  const fd = openSync(opts.logFile, 'a');
  const child = spawn(cmd, args, {
    cwd: opts.cwd ?? '/tmp',
    env: opts.env ?? process.env,
    stdio: ['ignore', fd, fd],
    detached: true,
    ...(ids ?? {}),
  });
  closeSync(fd);
  live.add(child);
  const d = new Daemon(name, child, opts.logFile, opts.stopSignal ?? 'SIGTERM', opts.stopGraceMs ?? 5000);
  daemons.add(d);
  startOrder.push(d);
  return d;
}

/** Stops every daemon still running, newest first (proxies before the databases behind them). */
export async function stopAll(): Promise<void> {
  const running = startOrder.filter((d) => !d.hasExited).reverse();
  for (const d of running) await d.stop();
  for (const c of live) {
    try {
      if (c.pid) process.kill(-c.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
}

/** Last resort on process exit: synchronous SIGKILL of everything we started. */
export function killAllSync(): void {
  for (const c of live) {
    if (!c.pid) continue;
    try {
      process.kill(-c.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Runs a bench entry point: exits with its code, or prints the error, stops every process started and exits 1. */
export function runMain(main: () => Promise<number>): void {
  main().then(
    (code) => process.exit(code),
    async (e: unknown) => {
      console.error(e instanceof Error ? e.stack : e);
      await stopAll();
      process.exit(1);
    },
  );
}

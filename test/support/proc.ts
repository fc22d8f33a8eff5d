// Test support: run a command to completion with a timeout and captured output (initdb, pg_basebackup,
// psql, pgbench, a JDBC client ...). Every child is our own and is reaped here; on timeout it gets
// SIGKILL. Never runs anything through a shell.
import { spawn } from 'node:child_process';
import { asPgUserOptions, findPgBin, serverToolEnv } from './pg-bin.js';

export interface RunOptions {
  cwd?: string;
  /** Replaces the environment (default: ours). */
  env?: NodeJS.ProcessEnv;
  /** Written to stdin, which is then closed (default: stdin is /dev/null). */
  input?: string | Buffer;
  /** Kill the command after this long (default 60 s). */
  timeoutMs?: number;
  /** Run as the PostgreSQL OS user when we are root (initdb, pg_basebackup ...). */
  asPgUser?: boolean;
  /** Keep at most this many bytes of each stream, the tail (default 4 MiB). */
  maxOutputBytes?: number;
}

export interface RunResult {
  command: string;
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  durationMs: number;
  timedOut: boolean;
}

export class CommandError extends Error {
  constructor(readonly result: RunResult) {
    const why = result.timedOut ? 'timed out' : `exited with ${result.code ?? result.signal}`;
    super(`${result.command} ${why} after ${result.durationMs} ms\n${tail(result.stderr || result.stdout, 30)}`);
    this.name = 'CommandError';
  }
}

export function tail(text: string, lines: number): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

class Capped {
  private chunks: Buffer[] = [];
  private size = 0;
  constructor(private readonly max: number) {}
  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.size > this.max && this.chunks.length > 1) this.size -= this.chunks.shift()?.length ?? 0;
  }
  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

/** Runs `cmd args`; resolves with the outcome whatever the exit code (see runChecked). */
export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const started = performance.now();
  const command = [cmd, ...args].join(' ');
  const pgUser = opts.asPgUser ? asPgUserOptions() : {};
  const child = spawn(cmd, args, {
    ...pgUser,
    cwd: opts.cwd ?? (opts.asPgUser ? '/tmp' : undefined),
    env: opts.env ?? (opts.asPgUser ? serverToolEnv() : process.env),
    stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
  const out = new Capped(opts.maxOutputBytes ?? 4 << 20);
  const err = new Capped(opts.maxOutputBytes ?? 4 << 20);
  child.stdout?.on('data', (c: Buffer) => out.push(c));
  child.stderr?.on('data', (c: Buffer) => err.push(c));
  if (opts.input !== undefined && child.stdin) {
    child.stdin.on('error', () => {}); // the command may exit without reading its input
    child.stdin.end(opts.input);
  }
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, opts.timeoutMs ?? 60_000);
  return new Promise((resolve, reject) => {
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`cannot run ${cmd}: ${e.message}`));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({
        command,
        code,
        signal,
        stdout: out.text(),
        stderr: err.text(),
        durationMs: Math.round(performance.now() - started),
        timedOut,
      });
    });
  });
}

/** Like run, but rejects with a CommandError (output tail included) unless the exit code is 0. */
export async function runChecked(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const result = await run(cmd, args, opts);
  if (result.code !== 0) throw new CommandError(result);
  return result;
}

export interface PsqlOptions {
  port: number;
  host?: string;
  user?: string;
  db?: string;
  password?: string;
  /** A script file (-f). */
  file?: string;
  /** One or more -c commands. */
  command?: string | string[];
  /** Extra psql arguments, e.g. ['-v', 'x=1']. */
  args?: string[];
  /** Defaults: -X (no psqlrc), -v ON_ERROR_STOP=1, -A -t (bare rows); set false for psql's own format. */
  bare?: boolean;
  input?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  timeoutMs?: number;
  /** Reject unless psql exits 0 (default true); false resolves whatever happened. */
  check?: boolean;
}

function clientEnv(password: string | undefined, extra: NodeJS.ProcessEnv | undefined): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, PGCONNECT_TIMEOUT: '10', ...extra };
  if (password !== undefined) env.PGPASSWORD = password;
  return env;
}

/** Runs the psql of the found server version (result.stdout has the rows). */
export function runPsql(opts: PsqlOptions): Promise<RunResult> {
  const args = ['-X', '-h', opts.host ?? '127.0.0.1', '-p', String(opts.port), '-U', opts.user ?? 'postgres'];
  args.push('-d', opts.db ?? 'app', '-v', 'ON_ERROR_STOP=1');
  if (opts.bare !== false) args.push('-A', '-t', '-q');
  if (opts.file) args.push('-f', opts.file);
  const commands = opts.command === undefined ? [] : [opts.command].flat();
  for (const c of commands) args.push('-c', c);
  args.push(...(opts.args ?? []));
  const runOpts: RunOptions = {
    env: clientEnv(opts.password, opts.env),
    cwd: opts.cwd,
    input: opts.input,
    timeoutMs: opts.timeoutMs ?? 60_000,
  };
  return opts.check === false ? run(findPgBin().path('psql'), args, runOpts) : runChecked(findPgBin().path('psql'), args, runOpts);
}

/**
 * Runs pgbench of the found server version with `args` as given (add -h/-p/-U yourself) and
 * `env` merged over ours (e.g. { PGPASSWORD }). Resolves whatever the exit code: check result.code.
 */
export function runPgbench(args: readonly string[], env: NodeJS.ProcessEnv = {}, opts: { timeoutMs?: number; cwd?: string } = {}): Promise<RunResult> {
  return run(findPgBin().path('pgbench'), args, {
    env: clientEnv(undefined, env),
    cwd: opts.cwd,
    timeoutMs: opts.timeoutMs ?? 120_000,
  });
}

// Starts Meridian as a child process (`bun src/cli.ts` or Node.js with tsx) in front of a test
// cluster, on a free loopback port, with a generated config file: the way to test a runtime other
// than the one vitest runs on. Bounded: the start waits at most `startTimeoutMs` for the
// "listening" line and the first query; stop() sends SIGTERM and SIGKILLs after 5 s; every child
// is also killed when the test process exits.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pg from 'pg';
import type { Cluster } from '../support/cluster.js';
import { TEST_USERS } from '../support/cluster.js';
import { freePort } from '../support/ports.js';
import { meridianYaml, type StartOptions } from './meridian.js';
import { findNode } from '../../src/net/runtime-exec.js';

export type TestRuntime = 'bun' | 'node';

const ROOT = resolve(import.meta.dirname, '../..');
const BUN = join(ROOT, 'node_modules/.bin/bun');
const TSX = 'tsx';
/** Node.js: this process's executable when vitest runs on Node.js, else the real `node` on PATH. */
const NODE = findNode() ?? 'node';

export interface ProcessOptions extends StartOptions {
  runtime: TestRuntime;
  startTimeoutMs?: number;
  /** Start through `node src/cli.ts --runtime <runtime>` (the re-exec path) instead of directly. */
  viaRuntimeFlag?: boolean;
  /** Start through `node src/cli.ts` with neither --runtime nor MERIDIAN_RUNTIME: the default runtime. */
  viaDefault?: boolean;
  /** Clients must use TLS (tls.mode: require): the readiness check connects with TLS. */
  tlsClients?: boolean;
  /** false: wait only for the "listening" line, not for a query to pass (nodes Meridian must refuse). */
  waitForQuery?: boolean;
  /** Serve the admin HTTP API (no token) on this loopback port. */
  adminHttpPort?: number;
}

export interface MeridianProcess {
  readonly runtime: TestRuntime;
  readonly port: number;
  readonly child: ChildProcess;
  /** Everything the process wrote to stdout and stderr so far (pino JSON lines). */
  output(): string;
  dsn(user?: 'app' | 'md5user' | 'plainuser', database?: string): string;
  stop(): Promise<void>;
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

/** The runtime named by MERIDIAN_TEST_RUNTIME, by default the one vitest does not run on. */
export function testRuntime(): TestRuntime {
  const named = process.env.MERIDIAN_TEST_RUNTIME;
  if (named === 'node' || named === 'bun') return named;
  return typeof (globalThis as { Bun?: unknown }).Bun !== 'undefined' ? 'node' : 'bun';
}

function command(runtime: TestRuntime, configPath: string, viaFlag: boolean, viaDefault: boolean): [string, string[]] {
  const cli = join(ROOT, 'src/cli.ts');
  if (viaDefault) return [NODE, ['--import', TSX, cli, '--config', configPath]];
  if (viaFlag) return [NODE, ['--import', TSX, cli, '--runtime', runtime, '--config', configPath]];
  if (runtime === 'bun') return [BUN, [cli, '--config', configPath]];
  return [NODE, ['--import', TSX, cli, '--config', configPath]];
}

async function firstQuery(dsn: string, isTls: boolean, deadlineMs: number, exited: () => boolean): Promise<void> {
  let last: unknown = null;
  while (Date.now() < deadlineMs && !exited()) {
    const c = new pg.Client({ connectionString: dsn, connectionTimeoutMillis: 2000, ssl: isTls ? { rejectUnauthorized: false } : false });
    c.on('error', () => {});
    try {
      await c.connect();
      await c.query('select 1');
      await c.end();
      return;
    } catch (e) {
      last = e;
      await c.end().catch(() => {});
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  throw new Error(`Meridian did not answer: ${String(last)}`);
}

async function listening(output: () => string, deadlineMs: number, exited: () => boolean): Promise<void> {
  while (Date.now() < deadlineMs && !exited()) {
    if (output().includes('"msg":"listening"')) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('Meridian did not start listening');
}

export async function startMeridianProcess(cluster: Cluster | null, opts: ProcessOptions): Promise<MeridianProcess> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'meridian-proc-'));
  const configPath = join(dir, 'meridian.yaml');
  const yaml = meridianYaml(cluster, opts)
    .replace('listen: { host: 127.0.0.1, port: 0 }', `listen: { host: 127.0.0.1, port: ${port} }`)
    .replace(/log: \{ level: \w+ \}/, 'log: { level: info }')
    .replace(
      'admin: { users: [admin] }',
      opts.adminHttpPort === undefined ? 'admin: { users: [admin] }' : `admin: { users: [admin], http: { host: 127.0.0.1, port: ${opts.adminHttpPort} } }`,
    );
  writeFileSync(configPath, yaml);
  const [cmd, args] = command(opts.runtime, configPath, opts.viaRuntimeFlag === true, opts.viaDefault === true);
  // The runtime is named (MERIDIAN_RUNTIME) unless the flag or the default is what is tested.
  const env: NodeJS.ProcessEnv = { ...process.env, MERIDIAN_RUNTIME: opts.viaRuntimeFlag === true ? '' : opts.runtime };
  if (opts.viaDefault === true) delete env.MERIDIAN_RUNTIME;
  const child = spawn(cmd, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env });
  live.add(child);
  let out = '';
  let hasExited = false;
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
  const exitedP = new Promise<void>((r) => child.once('exit', () => ((hasExited = true), live.delete(child), r())));
  const passwords: Record<string, string> = { app: TEST_USERS.app.password, md5user: TEST_USERS.md5user.password, plainuser: TEST_USERS.plainuser.password };
  const dsn = (user: 'app' | 'md5user' | 'plainuser' = 'app', database = 'app') => `postgres://${user}:${passwords[user]}@127.0.0.1:${port}/${database}`;
  const stop = async (): Promise<void> => {
    if (!hasExited) {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exitedP;
      clearTimeout(killer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    if (opts.waitForQuery === false)
      await listening(
        () => out,
        Date.now() + (opts.startTimeoutMs ?? 60_000),
        () => hasExited,
      );
    else await firstQuery(dsn(), opts.tlsClients === true, Date.now() + (opts.startTimeoutMs ?? 60_000), () => hasExited);
  } catch (e) {
    await stop();
    throw new Error(`${String(e)}\n--- Meridian (${opts.runtime}) output ---\n${out.slice(-4000)}`, { cause: e });
  }
  return { runtime: opts.runtime, port, child, output: () => out, dsn, stop };
}

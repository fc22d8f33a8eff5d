// Fault suite support: Meridian as a real child process (`node --import tsx src/cli.ts --config …`),
// on a fixed loopback port so a restarted Meridian comes back where its clients expect it. Owns the
// child it spawns (and its log file); signals only that pid. The config is the tests' usual YAML
// (test/helpers/meridian.ts) with the listen port and the log level set.
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { meridianYaml, type StartOptions } from '../../helpers/meridian.js';
import type { Cluster } from '../../support/cluster.js';
import { TEST_USERS } from '../../support/cluster.js';

export interface MeridianProcessConfig {
  /** Where the config and the log file go. */
  dir: string;
  port: number;
  cluster: Cluster;
  opts?: StartOptions;
}

/** Writes the config file for a Meridian child; returns its path and the admin console password. */
export function writeMeridianConfig(cfg: MeridianProcessConfig): { path: string; adminPassword: string } {
  let yaml = meridianYaml(cfg.cluster, cfg.opts ?? {});
  const listen = /^listen: \{[^}]*\}$/m;
  if (!listen.test(yaml)) throw new Error('test config has no one-line listen mapping to rewrite');
  yaml = yaml.replace(listen, `listen: { host: 127.0.0.1, port: ${cfg.port} }`);
  yaml = yaml.replace(/^log: \{[^}]*\}$/m, 'log: { level: info }');
  const admin = /name: admin, password: "([^"]+)"/.exec(yaml);
  if (admin?.[1] === undefined) throw new Error('test config has no admin user');
  const path = join(cfg.dir, 'meridian.yaml');
  writeFileSync(path, yaml);
  return { path, adminPassword: admin[1] };
}

export class MeridianProcess {
  readonly child: ChildProcess;
  readonly port: number;
  readonly logFile: string;
  readonly adminPassword: string;
  readonly spawnedAtMs: number;
  exitCode: number | null = null;
  exitSignal: NodeJS.Signals | null = null;
  private readonly exited: Promise<void>;

  private constructor(child: ChildProcess, port: number, logFile: string, adminPassword: string) {
    this.child = child;
    this.port = port;
    this.logFile = logFile;
    this.adminPassword = adminPassword;
    this.spawnedAtMs = Date.now();
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exitCode = code;
        this.exitSignal = signal;
        resolve();
      });
    });
  }

  /** Spawns Meridian with a config written from `cfg`; does not wait for it to serve (see waitServing). */
  static spawn(cfg: MeridianProcessConfig, logName = 'meridian.log'): MeridianProcess {
    const { path, adminPassword } = writeMeridianConfig(cfg);
    const logFile = join(cfg.dir, logName);
    const fd = openSync(logFile, 'a');
    // MERIDIAN_FAULT_NODE_ARGS: extra node flags for the child (e.g. another --import while diagnosing).
    const extra = (process.env.MERIDIAN_FAULT_NODE_ARGS ?? '').split(' ').filter((a) => a.length > 0);
    const child = spawn(process.execPath, ['--import', 'tsx', ...extra, 'src/cli.ts', '--config', path], {
      cwd: process.cwd(),
      stdio: ['ignore', fd, fd],
    });
    closeSync(fd);
    return new MeridianProcess(child, cfg.port, logFile, adminPassword);
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  isAlive(): boolean {
    return this.exitCode === null && this.exitSignal === null;
  }

  signal(sig: NodeJS.Signals): void {
    if (this.isAlive()) this.child.kill(sig);
  }

  /** Resolves true when the process exited within timeoutMs. */
  async waitExit(timeoutMs: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<false>((r) => (timer = setTimeout(() => r(false), timeoutMs)));
    const done = await Promise.race([this.exited.then(() => true as const), timedOut]);
    clearTimeout(timer);
    return done;
  }

  /** When the log says "listening" (ms since epoch), or null. */
  listeningAtMs(): number | null {
    for (const line of this.logTail(400).split('\n')) {
      if (!line.includes('"listening"')) continue;
      try {
        return (JSON.parse(line) as { time: number }).time;
      } catch {
        /* a partial line */
      }
    }
    return null;
  }

  logTail(lines = 30): string {
    try {
      return readFileSync(this.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  }

  dsn(user: 'app' = 'app'): string {
    return `postgres://${user}:${TEST_USERS[user].password}@127.0.0.1:${this.port}/app`;
  }

  /** Runs one admin console command; rows as text. */
  async admin(sql: string, timeoutMs = 5000): Promise<Array<Record<string, string | null>>> {
    const c = new pg.Client({
      host: '127.0.0.1',
      port: this.port,
      user: 'admin',
      password: this.adminPassword,
      database: 'meridian',
      connectionTimeoutMillis: timeoutMs,
      query_timeout: timeoutMs,
    });
    c.on('error', () => {});
    await c.connect();
    try {
      return (await c.query(sql)).rows as Array<Record<string, string | null>>;
    } finally {
      await c.end().catch(() => {});
    }
  }

  /** Kills the child if it still runs (clean-up). */
  async dispose(): Promise<void> {
    if (!this.isAlive()) return;
    this.child.kill('SIGKILL');
    await this.waitExit(5000);
  }
}

// Test support: a single-node etcd on free loopback ports (client and peer), with its own data dir under
// the run root; resolves once /health says so. For Patroni clusters (patroni.ts) and any test that needs a
// real etcd. Never uses etcd's default ports (2379/2380): a system etcd there is none of our business.
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { trackDir, untrackDir } from './cleanup.js';
import { findExecutable, spawnDaemon, stopDaemon, type Daemon } from './daemon.js';
import { readTail } from './postmaster.js';
import { freePort } from './ports.js';
import { sleep } from './wait.js';
import { newClusterDir } from './workspace.js';

export interface EtcdServer {
  readonly name: string;
  readonly host: string;
  readonly clientPort: number;
  readonly peerPort: number;
  /** http://127.0.0.1:<clientPort> */
  readonly clientUrl: string;
  /** pid of the etcd process */
  readonly pid: number;
  readonly dataDir: string;
  readonly logFile: string;
  isRunning(): boolean;
  logTail(lines?: number): string;
  /** SIGTERM (SIGKILL after 10 s); removes the data dir when startEtcd created the directory itself. Idempotent. */
  stop(): Promise<void>;
}

export interface EtcdOptions {
  /** Directory to work in (etcd's data dir and log go below it); default: a new dir under the run root. */
  dir?: string;
  /** Member name (default `etcd`). */
  name?: string;
  /** Deadline for the server to become healthy (default 30 s). */
  timeoutMs?: number;
}

/** Path of the etcd server binary (Debian: package etcd-server), or null when it is not installed. */
export function findEtcd(): string | null {
  return findExecutable('etcd', ['/usr/bin', '/usr/local/bin']);
}

const START_ATTEMPTS = 5;
const PORT_CONFLICT = /address already in use/i;

class EtcdProcess implements EtcdServer {
  readonly host = '127.0.0.1';
  private stopping: Promise<void> | undefined;

  constructor(
    readonly name: string,
    readonly clientPort: number,
    readonly peerPort: number,
    readonly dataDir: string,
    readonly logFile: string,
    private readonly daemon: Daemon,
    private readonly ownDir: string | null,
  ) {}

  get clientUrl(): string {
    return `http://${this.host}:${this.clientPort}`;
  }
  get pid(): number {
    return this.daemon.pid;
  }
  isRunning(): boolean {
    return !this.daemon.hasExited();
  }
  logTail(lines = 40): string {
    return readTail(this.logFile, lines);
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      await stopDaemon(this.daemon, 'SIGTERM', 10_000);
      if (this.ownDir) {
        rmSync(this.ownDir, { recursive: true, force: true, maxRetries: 3 });
        untrackDir(this.ownDir);
      }
    })();
    return this.stopping;
  }

  /** Polls GET /health until it reports healthy, the process exits, or the deadline passes. */
  async waitHealthy(timeoutMs: number): Promise<'healthy' | 'exited' | 'timeout'> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.daemon.hasExited()) return 'exited';
      try {
        const res = await fetch(`${this.clientUrl}/health`, { signal: AbortSignal.timeout(2_000) });
        const body = (await res.json()) as { health?: unknown };
        if (res.ok && String(body.health) === 'true') return 'healthy';
      } catch {
        // not listening yet
      }
      await sleep(50);
    }
    return 'timeout';
  }
}

function etcdArgs(name: string, dataDir: string, clientPort: number, peerPort: number, token: string): string[] {
  const client = `http://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  return [
    ...['--name', name, '--data-dir', dataDir],
    ...['--listen-client-urls', client, '--advertise-client-urls', client],
    ...['--listen-peer-urls', peer, '--initial-advertise-peer-urls', peer],
    ...['--initial-cluster', `${name}=${peer}`, '--initial-cluster-token', token, '--initial-cluster-state', 'new'],
    ...['--logger', 'zap', '--log-level', 'warn'],
  ];
}

/** etcd reads ETCD_* variables as flags: never let the caller's environment configure it. */
function etcdEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('ETCD_')) env[k] = v;
  return env;
}

/** Starts a single-node etcd on free loopback ports; retries on another pair of ports when one was taken. */
export async function startEtcd(opts: EtcdOptions = {}): Promise<EtcdServer> {
  const bin = findEtcd();
  if (!bin) throw new Error('etcd is not installed (Debian: apt-get install etcd-server)');
  const ownDir = opts.dir ? null : newClusterDir('etcd');
  if (ownDir) trackDir(ownDir);
  const dir = opts.dir ?? ownDir!;
  const name = opts.name ?? 'etcd';
  const timeoutMs = opts.timeoutMs ?? 30_000;
  for (let attempt = 1; ; attempt++) {
    const dataDir = join(dir, `etcd-data-${attempt}`);
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const logFile = join(dir, 'etcd.log');
    const clientPort = await freePort();
    const peerPort = await freePort();
    const token = `meridian-test-${process.pid}-${Date.now()}`;
    const daemon = spawnDaemon(bin, etcdArgs(name, dataDir, clientPort, peerPort, token), logFile, { env: etcdEnv() });
    const etcd = new EtcdProcess(name, clientPort, peerPort, dataDir, logFile, daemon, ownDir);
    const outcome = await etcd.waitHealthy(timeoutMs);
    if (outcome === 'healthy') return etcd;
    await stopDaemon(daemon, 'SIGKILL', 5_000);
    const log = readTail(logFile);
    if (outcome === 'exited' && PORT_CONFLICT.test(log) && attempt < START_ATTEMPTS) continue;
    if (ownDir) {
      rmSync(ownDir, { recursive: true, force: true, maxRetries: 3 });
      untrackDir(ownDir);
    }
    throw new Error(
      `etcd on 127.0.0.1:${clientPort} ${outcome === 'exited' ? 'exited during start-up' : `not healthy after ${timeoutMs} ms`}; log tail:\n${log}`,
    );
  }
}

// Test support: a PostgreSQL cluster managed by Patroni — one etcd (etcd.ts) and N Patroni members, each
// with its own PostgreSQL data dir, postgres port and REST API port on 127.0.0.1. Owns those processes:
// starts them, reads roles from Patroni's REST API, asks for a switchover, kills a primary, stops it all.
// It never changes roles itself: that is Patroni's job, which is what the tests observe.
//
// Reaping: Patroni starts its postmaster through a double fork, so the postmaster is nobody's child, and
// where PID 1 does not reap (as on these machines) a killed postmaster stays a zombie, which psutil (and
// so Patroni) still counts as a running process: Patroni then waits for it to stop before failing over
// (measured here: promotion 2.5 s after kill -9 instead of 0.85 s), and pid checks see it alive. Each
// member therefore runs under a few lines of Python (python3 is Patroni's own runtime) that make
// themselves a child subreaper, run Patroni as their child, reap whatever is orphaned below them, forward
// signals and leave with Patroni: a crash then looks to Patroni as it does under a reaping init.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { createFixtureTables } from './cluster-base.js';
import { findPostmastersUnder, killPostmastersSync, trackDir, untrackDir } from './cleanup.js';
import { findExecutable, isExecutable, spawnDaemon, stopDaemon, type Daemon } from './daemon.js';
import { findEtcd, startEtcd, type EtcdServer } from './etcd.js';
import { findPgBin, isPidAlive, serverToolEnv } from './pg-bin.js';
import { BasePgNode } from './pg-node.js';
import { patroniMemberConfig, type PatroniTimings } from './patroni-config.js';
import { freePort } from './ports.js';
import { readTail } from './postmaster.js';
import type { Cluster, PgNode, StopMode } from './types.js';
import type { ConfSettings } from './test-users.js';
import { waitFor } from './wait.js';
import { ensureTemplate, mkdirOwned, newClusterDir, socketDir } from './workspace.js';

export { PATRONI_REPLICATION_USER } from './patroni-config.js';

/** One member as Patroni's GET /cluster reports it (Patroni 3.0: role leader | replica | sync_standby). */
export interface PatroniMember {
  name: string;
  role: string;
  state: string;
  host?: string;
  port?: number;
  timeline?: number;
  /** bytes behind the leader; absent for the leader, 'unknown' when Patroni does not know */
  lag?: number | 'unknown';
}

export interface PatroniNode extends PgNode {
  readonly restApiPort: number;
  /** http://127.0.0.1:<restApiPort> */
  readonly restApiUrl: string;
  /** pid of this member's Patroni process (null while it is stopped) */
  readonly pid: number | null;
  /** pid of the postmaster Patroni runs for this member, from its postmaster.pid (null when none runs) */
  postmasterPid(): number | null;
}

export interface PatroniCluster extends Cluster {
  readonly kind: 'physical';
  readonly nodes: PatroniNode[];
  readonly scope: string;
  readonly etcd: EtcdServer;
  node(name: string): PatroniNode;
  /** The members as Patroni's REST API reports them (from the first member whose API answers). */
  members(): Promise<PatroniMember[]>;
  /** Name of the member holding the leader key, or null (none, or no API answers). */
  leader(): Promise<string | null>;
  /**
   * Waits until a member other than `not` holds the leader key and its PostgreSQL takes writes (not in
   * recovery); resolves with it.
   */
  waitForLeader(opts?: { timeoutMs?: number; not?: string }): Promise<PatroniNode>;
  /** Waits until every running member reports state running and `count` (default: all other members) replicas stream from the leader. */
  waitStreaming(opts?: { count?: number; timeoutMs?: number }): Promise<PatroniNode>;
  /** POST /switchover to the leader's REST API (to `to`, or to a member Patroni picks); resolves once the new leader takes writes. */
  switchover(to?: string): Promise<{ from: string; to: string; ms: number }>;
  /** kill -9 of the current leader's postmaster (Patroni itself stays up); resolves with whom and when. */
  killPrimary(): Promise<{ name: string; pid: number; killedAt: number }>;
}

export interface PatroniClusterOptions extends PatroniTimings {
  /** Members n1…nN (default 3, 2–5). n1 bootstraps and is the first leader. */
  nodes?: number;
  /** Extra postgresql.conf settings for every member. */
  settings?: ConfSettings;
  /** Deadline for the whole start (default 180 s). */
  timeoutMs?: number;
}

/**
 * The interpreter Patroni runs on (its script's #! line), for the reaper: a python3 earlier on PATH (a
 * version manager's shim, say) may not even be reachable by the postgres OS user.
 */
function patroniPython(patroni: string): string | null {
  try {
    const m = /^#!\s*(\/\S*python3[.\d]*)\s*$/.exec(readFileSync(patroni, 'utf8').split('\n', 1)[0] ?? '');
    if (m?.[1] && isExecutable(m[1])) return m[1];
  } catch {
    // not a script
  }
  return isExecutable('/usr/bin/python3') ? '/usr/bin/python3' : null;
}

/** What running Patroni clusters needs here: the patroni and etcd commands and python3 (or why not). */
export function findPatroni(): { patroni: string; etcd: string; python: string } | { missing: string } {
  const patroni = findExecutable('patroni', ['/usr/bin', '/usr/local/bin']);
  const etcd = findEtcd();
  const python = patroni ? patroniPython(patroni) : null;
  const missing = [!patroni && 'patroni', !etcd && 'etcd (etcd-server)', patroni && !python && 'python3'].filter(Boolean);
  if (!patroni || !etcd || !python) return { missing: `not installed: ${missing.join(', ')} (Debian: apt-get install patroni etcd-server)` };
  return { patroni, etcd, python };
}

/** argv[1] pid file, argv[2:] the command. See the header: subreaper, reaping, signal forwarding. */
const REAPER_PY = `
import ctypes, os, signal, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
pidfile, argv, me = sys.argv[1], sys.argv[2:], os.getpid()
child = os.fork()
if child == 0:
    libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG: die with this process
    if os.getppid() != me:
        os._exit(1)
    os.execvp(argv[0], argv)
with open(pidfile + '.tmp', 'w') as f:
    f.write(str(child))
os.rename(pidfile + '.tmp', pidfile)
def forward(sig, frame):
    try:
        os.kill(child, sig)
    except ProcessLookupError:
        pass
for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT):
    signal.signal(s, forward)
code = 1
while True:
    try:
        pid, status = os.wait()
    except ChildProcessError:
        break
    if pid == child:
        code = os.waitstatus_to_exitcode(status)
        break
sys.exit(code if code >= 0 else 128 - code)
`;

/** Environment of Patroni: the server tools' one, minus PATRONI_* (Patroni reads its config from those too). */
function patroniEnv(serverEnv: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(serverEnv)) if (!k.startsWith('PATRONI_')) env[k] = v;
  return env;
}

async function getJson<T>(url: string, timeoutMs = 2_000): Promise<T> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status}`);
  return (await res.json()) as T;
}

const EXITED = Symbol('exited');

class PatroniMemberNode extends BasePgNode implements PatroniNode {
  readonly host = '127.0.0.1';
  private daemon: Daemon | null = null;
  private patroniPid: number | null = null;

  constructor(
    readonly name: string,
    readonly port: number,
    readonly restApiPort: number,
    readonly dataDir: string,
    readonly logFile: string,
    private readonly configFile: string,
    private readonly pidFile: string,
    private readonly commands: { patroni: string; python: string },
  ) {
    super();
  }

  get restApiUrl(): string {
    return `http://127.0.0.1:${this.restApiPort}`;
  }
  get pid(): number | null {
    return this.isRunning() ? this.patroniPid : null;
  }
  isRunning(): boolean {
    return this.daemon !== null && !this.daemon.hasExited();
  }

  postmasterPid(): number | null {
    try {
      const pid = Number(readFileSync(join(this.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
      return Number.isInteger(pid) && pid > 0 && isPidAlive(pid) ? pid : null;
    } catch {
      return null;
    }
  }

  /** Starts Patroni (under the reaper) and waits until its REST API answers. */
  async start(): Promise<void> {
    if (this.isRunning()) return;
    rmSync(this.pidFile, { force: true });
    const argv = ['-I', '-c', REAPER_PY, this.pidFile, this.commands.patroni, this.configFile];
    const daemon = spawnDaemon(this.commands.python, argv, this.logFile, { asPgUser: true, env: patroniEnv(serverToolEnv()) });
    this.daemon = daemon;
    // a throwing check only counts as "not yet" for waitFor: an exit is reported through a sentinel
    const exited = (): Error => new Error(`patroni ${this.name} exited during start-up; log tail:\n${this.logTail()}`);
    const pid = await waitFor(
      () => {
        if (daemon.hasExited()) return EXITED;
        try {
          const n = Number(readFileSync(this.pidFile, 'utf8'));
          return n > 0 ? n : false;
        } catch {
          return false;
        }
      },
      { timeoutMs: 30_000, what: () => `patroni ${this.name} to start; log tail:\n${this.logTail()}` },
    );
    if (pid === EXITED) throw exited();
    this.patroniPid = pid;
    const api = await waitFor(
      async () => {
        if (daemon.hasExited()) return EXITED;
        return (await getJson<{ state?: string }>(`${this.restApiUrl}/patroni`)).state !== undefined;
      },
      { timeoutMs: 60_000, intervalMs: 100, what: () => `the REST API of patroni ${this.name}; log tail:\n${this.logTail()}` },
    );
    if (api === EXITED) throw exited();
  }

  /**
   * `fast`: SIGTERM to Patroni, which stops PostgreSQL and gives up the leader key (SIGKILL after 60 s);
   * `immediate`: Patroni killed, then its postmaster immediate-stopped. The data dir stays; start() rejoins.
   */
  async stop(mode: StopMode = 'fast'): Promise<void> {
    await this.endPool();
    const daemon = this.daemon;
    if (daemon) await stopDaemon(daemon, mode === 'fast' ? 'SIGTERM' : 'SIGKILL', 60_000);
    // Patroni dies with the reaper (parent-death signal); make sure it is gone before going on
    const patroni = this.patroniPid;
    if (patroni !== null && isPidAlive(patroni)) {
      try {
        process.kill(patroni, 'SIGKILL');
      } catch {
        // exited meanwhile
      }
      await waitFor(() => !isPidAlive(patroni), { timeoutMs: 10_000, what: `patroni ${this.name} (pid ${patroni}) to exit` });
    }
    const pm = this.postmasterPid();
    if (pm !== null) killPostmastersSync([pm], 10_000);
  }

  promote(): Promise<void> {
    return Promise.reject(new Error(`${this.name} is managed by Patroni: use cluster.switchover('${this.name}')`));
  }

  override logTail(lines = 40): string {
    return readTail(this.logFile, lines);
  }
}

class PatroniClusterImpl implements PatroniCluster {
  readonly kind = 'physical' as const;
  readonly isShared = false;
  private stopping: Promise<void> | undefined;

  constructor(
    readonly scope: string,
    readonly etcd: EtcdServer,
    readonly nodes: PatroniMemberNode[],
    private readonly dir: string,
  ) {}

  node(name: string): PatroniMemberNode {
    const node = this.nodes.find((n) => n.name === name);
    if (!node) throw new Error(`no member ${name} in Patroni cluster ${this.scope} (${this.nodes.map((n) => n.name).join(', ')})`);
    return node;
  }

  async members(): Promise<PatroniMember[]> {
    let last: unknown;
    for (const n of this.nodes) {
      if (!n.isRunning()) continue;
      try {
        return (await getJson<{ members: PatroniMember[] }>(`${n.restApiUrl}/cluster`)).members;
      } catch (e) {
        last = e;
      }
    }
    throw new Error(`no Patroni REST API of ${this.scope} answers${last instanceof Error ? `: ${last.message}` : ''}`);
  }

  async leader(): Promise<string | null> {
    try {
      return (await this.members()).find((m) => m.role === 'leader')?.name ?? null;
    } catch {
      return null;
    }
  }

  async waitForLeader(opts: { timeoutMs?: number; not?: string } = {}): Promise<PatroniMemberNode> {
    let seen = 'none';
    return waitFor(
      async () => {
        const name = await this.leader();
        seen = name ?? 'none';
        if (name === null || name === opts.not) return false;
        const [r] = await this.node(name).query<{ inRecovery: boolean }>('SELECT pg_is_in_recovery() AS "inRecovery"');
        return r?.inRecovery === false ? this.node(name) : false;
      },
      {
        timeoutMs: opts.timeoutMs ?? 60_000,
        intervalMs: 100,
        what: () => `a writable Patroni leader${opts.not ? ` other than ${opts.not}` : ''} (leader key: ${seen})\n${this.logTails()}`,
      },
    );
  }

  async waitStreaming(opts: { count?: number; timeoutMs?: number } = {}): Promise<PatroniMemberNode> {
    const count = opts.count ?? this.nodes.length - 1;
    let leader: PatroniMemberNode | undefined;
    let streaming = 0;
    await waitFor(
      async () => {
        const members = await this.members();
        const running = this.nodes.filter((n) => n.isRunning()).map((n) => n.name);
        // Patroni's own view too: a member's state is published once per HA loop
        if (!running.every((name) => members.some((m) => m.name === name && m.state === 'running'))) return false;
        const name = members.find((m) => m.role === 'leader')?.name;
        leader = name === undefined ? undefined : this.node(name);
        if (!leader) return false;
        // by member name: pg_basebackup's WAL stream of a replica being cloned is 'streaming' too
        const others = this.nodes.filter((n) => n !== leader).map((n) => n.name);
        const [r] = await leader.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM pg_stat_replication WHERE state = 'streaming' AND application_name = ANY($1)",
          [others],
        );
        streaming = r?.n ?? 0;
        return streaming >= count;
      },
      {
        timeoutMs: opts.timeoutMs ?? 90_000,
        intervalMs: 100,
        what: () => `${count} replicas streaming from the leader ${leader?.name ?? '(none)'} (${streaming} are)\n${this.logTails()}`,
      },
    );
    return leader!;
  }

  async switchover(to?: string): Promise<{ from: string; to: string; ms: number }> {
    const from = await this.waitForLeader({ timeoutMs: 30_000 });
    const started = performance.now();
    const res = await fetch(`${from.restApiUrl}/switchover`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(to ? { leader: from.name, candidate: to } : { leader: from.name }),
      signal: AbortSignal.timeout(60_000),
    });
    const body = await res.text();
    if (res.status !== 200) throw new Error(`switchover ${from.name} -> ${to ?? 'any'}: HTTP ${res.status} ${body}\n${this.logTails()}`);
    const now = await this.waitForLeader({ not: from.name, timeoutMs: 60_000 });
    if (to && now.name !== to) throw new Error(`switchover to ${to} made ${now.name} the leader (${body})`);
    return { from: from.name, to: now.name, ms: Math.round(performance.now() - started) };
  }

  async killPrimary(): Promise<{ name: string; pid: number; killedAt: number }> {
    const leader = await this.waitForLeader({ timeoutMs: 30_000 });
    const pid = leader.postmasterPid();
    if (pid === null) throw new Error(`leader ${leader.name} has no running postmaster`);
    process.kill(pid, 'SIGKILL');
    return { name: leader.name, pid, killedAt: performance.now() };
  }

  async exec(sql: string): Promise<void> {
    await (await this.waitForLeader({ timeoutMs: 30_000 })).query(sql);
  }

  /** Every member's Patroni killed, then every postmaster below the cluster dir, then etcd; the dir removed. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= teardown(this.nodes, this.etcd, this.dir);
    return this.stopping;
  }

  private logTails(): string {
    return this.nodes.map((n) => `--- ${n.name} (${n.logFile}):\n${n.logTail(15)}`).join('\n');
  }
}

async function teardown(nodes: readonly PatroniMemberNode[], etcd: EtcdServer | null, dir: string): Promise<void> {
  await Promise.allSettled(nodes.map((n) => n.stop('immediate')));
  // postmasters of members whose Patroni was between two starts of PostgreSQL
  killPostmastersSync(findPostmastersUnder(dir), 10_000);
  if (etcd) await etcd.stop().catch(() => {});
  rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  untrackDir(dir);
}

let clusterSeq = 0;

/** Etcd plus Patroni members n1…nN; n1 bootstraps and leads, the others clone from it; resolves once all stream. */
export async function startPatroniCluster(opts: PatroniClusterOptions = {}): Promise<PatroniCluster> {
  const count = opts.nodes ?? 3;
  if (!Number.isInteger(count) || count < 2 || count > 5) throw new Error(`nodes must be 2..5, got ${count}`);
  const found = findPatroni();
  if ('missing' in found) throw new Error(`cannot start a Patroni cluster: ${found.missing}`);
  const template = await ensureTemplate();
  const dir = newClusterDir('patroni');
  trackDir(dir);
  const scope = `meridian-${process.pid}-${++clusterSeq}-${Math.random().toString(36).slice(2, 8)}`;
  const nodes: PatroniMemberNode[] = [];
  let etcd: EtcdServer | null = null;
  try {
    etcd = await startEtcd({ dir: mkdirOwned(join(dir, 'etcd')) });
    for (let i = 1; i <= count; i++) nodes.push(await createMember(dir, `n${i}`, scope, etcd, template, opts, found));
    const cluster = new PatroniClusterImpl(scope, etcd, nodes, dir);
    const timeoutMs = opts.timeoutMs ?? 180_000;
    await nodes[0]!.start();
    const leader = await cluster.waitForLeader({ timeoutMs });
    await createFixtureTables(leader);
    await Promise.all(nodes.slice(1).map((n) => n.start()));
    await cluster.waitStreaming({ timeoutMs });
    return cluster;
  } catch (e) {
    await teardown(nodes, etcd, dir);
    throw e;
  }
}

async function createMember(
  dir: string,
  name: string,
  scope: string,
  etcd: EtcdServer,
  templateDir: string,
  opts: PatroniClusterOptions,
  commands: { patroni: string; python: string },
): Promise<PatroniMemberNode> {
  const nodeDir = mkdirOwned(join(dir, name));
  const pgPort = await freePort();
  const restApiPort = await freePort();
  const dataDir = join(nodeDir, 'data');
  const config = patroniMemberConfig({
    scope,
    name,
    pgPort,
    restApiPort,
    etcdClientPort: etcd.clientPort,
    dataDir,
    pgpassFile: join(nodeDir, 'pgpass'),
    binDir: findPgBin().dir,
    templateDir,
    socketDir: socketDir(),
    timings: opts,
    settings: opts.settings,
  });
  const configFile = join(nodeDir, 'patroni.yml');
  writeFileSync(configFile, stringify(config), { mode: 0o644 });
  return new PatroniMemberNode(name, pgPort, restApiPort, dataDir, join(nodeDir, 'patroni.log'), configFile, join(nodeDir, 'patroni.pid'), commands);
}

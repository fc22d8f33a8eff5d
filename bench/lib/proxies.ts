// Bench support: the proxies under comparison, each started from the machine's packages (or dist/ for
// Meridian, on Node.js or on Bun, with one worker or more) with a generated config in the run's temp
// dir, on a free loopback port, and checked with a real query before it is measured. A proxy that
// cannot start is reported, never fatal.
import { chownSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { BENCH_DB, BENCH_PASSWORD, BENCH_USER, pgTool, type PgNode } from './postgres.js';
import { freePort } from './ports.js';
import { pgUserIds, run, sleep, startDaemon, tail, type Daemon } from './proc.js';

const BENCH_REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The JavaScript runtimes Meridian (and the bare relays) can run on. */
export type Runtime = 'node' | 'bun';

/** Bun as installed by npm (the `bun` package): a native binary, no wrapper process. */
export function bunPath(repoRoot: string): string {
  return join(repoRoot, 'node_modules', '.bin', 'bun');
}

export interface Proxy {
  id: string;
  label: string;
  port: number;
  daemon: Daemon;
}

const CLIENT_ENV = { PGPASSWORD: BENCH_PASSWORD, PGSSLMODE: 'disable', PGGSSENCMODE: 'disable', PGCONNECT_TIMEOUT: '5' };

/** Runs one query through a port as the bench user; returns its output or throws. */
export async function queryVia(port: number, sql: string, timeoutMs = 15_000): Promise<string> {
  const r = await run(
    pgTool('psql'),
    ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-h', '127.0.0.1', '-p', String(port), '-U', BENCH_USER, '-d', BENCH_DB, '-c', sql],
    { env: { ...process.env, ...CLIENT_ENV }, timeoutMs },
  );
  if (r.timedOut) throw new Error(`no answer to ${sql} within ${timeoutMs} ms`);
  if (r.code !== 0) throw new Error((r.stderr || r.stdout).trim() || `psql exited with ${r.code}`);
  return r.stdout.trim();
}

/** Waits until a query through the port succeeds (the proxy is up and can reach a node). */
async function waitUsable(d: Daemon, port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    if (d.hasExited) throw new Error(`${d.name} exited (code ${d.exitCode}): ${logTail(d.logFile)}`);
    try {
      await queryVia(port, 'SELECT 1', 5000);
      return;
    } catch (e) {
      last = (e as Error).message;
    }
    await sleep(250);
  }
  throw new Error(`${d.name} not usable after ${timeoutMs} ms: ${last} ${logTail(d.logFile)}`);
}

function logTail(file: string): string {
  try {
    return tail(readFileSync(file, 'utf8'), 5).replace(/\s+/g, ' ');
  } catch {
    return '';
  }
}

function ownedDir(path: string): string {
  mkdirSync(path, { recursive: true });
  const ids = pgUserIds();
  if (ids) chownSync(path, ids.uid, ids.gid);
  return path;
}

// ---------------------------------------------------------------------------------------------- PgBouncer

export async function startPgbouncer(root: string, id: string, backend: PgNode, mode: 'transaction' | 'session', poolSize: number): Promise<Proxy> {
  const dir = ownedDir(join(root, id));
  const port = await freePort();
  writeFileSync(join(dir, 'userlist.txt'), `"${BENCH_USER}" "${BENCH_PASSWORD}"\n`);
  const ini = [
    '[databases]',
    `${BENCH_DB} = host=127.0.0.1 port=${backend.port} dbname=${BENCH_DB}`,
    '[pgbouncer]',
    'listen_addr = 127.0.0.1',
    `listen_port = ${port}`,
    'unix_socket_dir =',
    'auth_type = md5',
    `auth_file = ${join(dir, 'userlist.txt')}`,
    `pool_mode = ${mode}`,
    `default_pool_size = ${poolSize}`,
    // Keep the pool open between pgbench runs (and fill it in the background): PgBouncer opens server
    // connections one at a time, which on a loaded host starves session pooling for seconds.
    `min_pool_size = ${poolSize}`,
    'max_client_conn = 1000',
    'ignore_startup_parameters = extra_float_digits',
    'log_connections = 0',
    'log_disconnections = 0',
    'stats_period = 3600',
    `pidfile = ${join(dir, 'pgbouncer.pid')}`,
    '',
  ].join('\n');
  const conf = join(dir, 'pgbouncer.ini');
  writeFileSync(conf, ini);
  // PgBouncer refuses to run as root.
  const d = startDaemon(id, '/usr/sbin/pgbouncer', [conf], { logFile: join(dir, 'pgbouncer.log'), asPgUser: true, stopSignal: 'SIGTERM' });
  await waitUsable(d, port, 20_000);
  return { id, label: mode === 'transaction' ? 'PgBouncer (transaction)' : 'PgBouncer (session)', port, daemon: d };
}

// ---------------------------------------------------------------------------------------------- Pgpool-II

export interface PgpoolOptions {
  /** Backends in order; the first is the primary. */
  backends: readonly PgNode[];
  loadBalance: boolean;
  /** Client slots (one process each): must cover the largest client count. */
  children: number;
  /** Load-balancing weight of the primary (0: reads go to standbys only). */
  primaryWeight: number;
  clusteringMode: 'streaming_replication' | 'logical_replication';
}

export async function startPgpool(root: string, id: string, opts: PgpoolOptions): Promise<Proxy> {
  const dir = ownedDir(join(root, id));
  const port = await freePort(); // port + 1 is free too (see ports.ts): PCP goes there
  const lines = [
    `backend_clustering_mode = '${opts.clusteringMode}'`,
    "listen_addresses = '127.0.0.1'",
    `port = ${port}`,
    `socket_dir = '${dir}'`,
    "pcp_listen_addresses = '127.0.0.1'",
    `pcp_port = ${port + 1}`,
    `pcp_socket_dir = '${dir}'`,
    `pid_file_name = '${join(dir, 'pgpool.pid')}'`,
    `logdir = '${dir}'`,
    "log_destination = 'stderr'",
    'logging_collector = off',
    "log_min_messages = 'warning'",
    'log_connections = off',
    'log_statement = off',
    'log_per_node_statement = off',
    'enable_pool_hba = off',
    "pool_passwd = ''",
    'allow_clear_text_frontend_auth = off',
    `num_init_children = ${opts.children}`,
    'max_pool = 1',
    'child_life_time = 0',
    'child_max_connections = 0',
    'connection_life_time = 0',
    'client_idle_limit = 0',
    'connection_cache = on',
    'reserved_connections = 0',
    `load_balance_mode = ${opts.loadBalance ? 'on' : 'off'}`,
    'statement_level_load_balance = off',
    "disable_load_balance_on_write = 'transaction'",
    'sr_check_period = 0',
    `sr_check_user = 'postgres'`,
    "sr_check_password = ''",
    "sr_check_database = 'postgres'",
    'delay_threshold = 0',
    'health_check_period = 0',
    'failover_on_backend_error = off',
    "failover_command = ''",
    'search_primary_node_timeout = 30',
    'use_watchdog = off',
    'memory_cache_enabled = off',
    'ssl = off',
  ];
  opts.backends.forEach((b, i) => {
    lines.push(
      `backend_hostname${i} = '127.0.0.1'`,
      `backend_port${i} = ${b.port}`,
      `backend_weight${i} = ${i === 0 ? opts.primaryWeight : 1}`,
      `backend_flag${i} = 'DISALLOW_TO_FAILOVER'`,
      `backend_application_name${i} = '${b.name}'`,
    );
  });
  const conf = join(dir, 'pgpool.conf');
  writeFileSync(conf, lines.join('\n') + '\n');
  writeFileSync(join(dir, 'pcp.conf'), '');
  writeFileSync(join(dir, 'pool_hba.conf'), 'host all all 127.0.0.1/32 trust\n');
  const d = startDaemon(id, '/usr/sbin/pgpool', ['-n', '-D', '-f', conf, '-F', join(dir, 'pcp.conf'), '-a', join(dir, 'pool_hba.conf')], {
    logFile: join(dir, 'pgpool.log'),
    asPgUser: true,
    stopSignal: 'SIGINT', // fast shutdown (SIGTERM waits for clients to leave)
  });
  await waitUsable(d, port, 60_000);
  return { id, label: opts.loadBalance && opts.backends.length > 1 ? 'Pgpool-II (load balancing)' : 'Pgpool-II', port, daemon: d };
}

// ---------------------------------------------------------------------------------------------- Meridian

export interface MeridianOptions {
  repoRoot: string;
  kind: 'physical' | 'pglogical';
  nodes: readonly PgNode[];
  poolSize: number;
  readsOnMasters: 'always' | 'fallback' | 'never';
  /** Where probes (and the heartbeat table) live; default postgres. */
  healthDatabase?: string;
  /** Run under `node --cpu-prof` / `bun --cpu-prof`, writing the profile here when it stops. */
  profileDir?: string;
  /** What runs dist/cli.js (default node: the Node.js running the bench). */
  runtime?: Runtime;
  /** Written as `workers: N` into the config when given (see workersSupported). */
  workers?: number;
  /** routing.transaction_replay (unset: the default, off). */
  transactionReplay?: boolean;
  /** More top-level YAML appended to the config (bench/failover-matrix.ts: health, admin users). */
  extraYaml?: readonly string[];
}

export function meridianYaml(port: number, opts: MeridianOptions): string {
  const nodes = opts.nodes.map((n) => `    - { name: ${n.name}, host: 127.0.0.1, port: ${n.port}, region: local }`);
  return [
    '# generated by bench/run.ts',
    `listen: { host: 127.0.0.1, port: ${port} }`,
    'region: local',
    'pool:',
    '  mode: transaction',
    `  size: ${opts.poolSize}`,
    `  min_idle: ${opts.poolSize}`, // like PgBouncer's min_pool_size above: the pool stays open between runs
    '  max_clients: 1000',
    'users:',
    `  - { name: ${BENCH_USER}, password: "${BENCH_PASSWORD}", auth: md5 }`,
    'cluster:',
    `  kind: ${opts.kind}`,
    '  nodes:',
    ...nodes,
    'health:',
    `  database: ${opts.healthDatabase ?? 'postgres'}`,
    'routing:',
    `  reads_on_masters: ${opts.readsOnMasters}`,
    ...(opts.transactionReplay !== undefined ? [`  transaction_replay: ${opts.transactionReplay}`] : []),
    'log: { level: warn }',
    ...(opts.workers !== undefined ? [`workers: ${opts.workers}`] : []),
    ...(opts.extraYaml ?? []),
    '',
  ].join('\n');
}

/**
 * null when Meridian's config accepts `workers: N` (checked with `meridian check-config` on the
 * config the bench would run), else why not: the first lines check-config printed.
 */
export async function workersSupported(opts: MeridianOptions, dir: string): Promise<string | null> {
  mkdirSync(dir, { recursive: true });
  const conf = join(dir, 'meridian-workers-check.yaml');
  writeFileSync(conf, meridianYaml(1, opts));
  const r = await run(process.execPath, [join(opts.repoRoot, 'dist', 'cli.js'), 'check-config', conf], { cwd: opts.repoRoot, timeoutMs: 30_000 });
  if (r.code === 0) return null;
  const out = (r.stderr + r.stdout).split('\n').filter((l) => l.trim() !== '');
  const line = out.find((l) => /workers/.test(l)) ?? out.slice(0, 2).join(' ');
  return `this build does not accept \`workers: ${opts.workers}\` (meridian check-config: ${line.replace(/^.*?: (?=workers)/, '').trim()})`.slice(0, 400);
}

/** Whether dist/cli.js takes a `--runtime` flag (read from its --help, once per build). */
const runtimeFlag = new Map<string, Promise<boolean>>();
function acceptsRuntimeFlag(repoRoot: string): Promise<boolean> {
  let p = runtimeFlag.get(repoRoot);
  if (p === undefined) {
    p = run(process.execPath, [join(repoRoot, 'dist', 'cli.js'), '--help'], { cwd: repoRoot, timeoutMs: 30_000 }).then((r) =>
      /--runtime\b/.test(r.stdout + r.stderr),
    );
    runtimeFlag.set(repoRoot, p);
  }
  return p;
}

export async function startMeridian(root: string, id: string, opts: MeridianOptions): Promise<Proxy> {
  const cli = join(opts.repoRoot, 'dist', 'cli.js');
  if (!existsSync(cli)) throw new Error('dist/cli.js is missing (npm run build failed or was not run)');
  const dir = join(root, id);
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const conf = join(dir, 'meridian.yaml');
  writeFileSync(conf, meridianYaml(port, opts));
  const runtime = opts.runtime ?? 'node';
  // A build whose cli takes --runtime is told which one it runs on (so `meridian` stays Node.js even
  // if the default changes); an older build (--baseline) gets no flag.
  const flag = (await acceptsRuntimeFlag(opts.repoRoot)) ? ['--runtime', runtime] : [];
  let cmd = process.execPath;
  let args: string[];
  if (runtime === 'bun') {
    cmd = bunPath(BENCH_REPO); // a --baseline checkout shares this repo's node_modules
    if (!existsSync(cmd)) throw new Error(`bun is not installed (${cmd}); npm ci installs it`);
    const prof = opts.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${opts.profileDir}`] : [];
    args = [...prof, cli, '--config', conf, ...flag];
  } else {
    const prof = opts.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${opts.profileDir}`] : [];
    // MERIDIAN_NODE_ARGS: extra node flags for experiments (e.g. --max-semi-space-size=16, --trace-deopt).
    const extra = (process.env.MERIDIAN_NODE_ARGS ?? '').split(' ').filter((a) => a.length > 0);
    args = [...extra, ...prof, cli, '--config', conf, ...flag];
  }
  const d = startDaemon(id, cmd, args, {
    cwd: opts.repoRoot,
    logFile: join(dir, 'meridian.log'),
    env: { ...process.env, NODE_ENV: 'production' },
    stopSignal: 'SIGTERM',
    stopGraceMs: opts.profileDir ? 30_000 : 5000, // the profile is written at exit
  });
  await waitUsable(d, port, 20_000);
  return { id, label: 'Meridian', port, daemon: d };
}

/** The reference relay (node-floor.ts): Node.js with no parsing, pooling or routing; one server connection per client. */
export async function startNodeFloor(root: string, repoRoot: string, node: PgNode): Promise<Proxy> {
  const dir = join(root, 'node-floor');
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  // Plain node on the transpiled file: no loader (tsx keeps an esbuild process alive, which the RSS would count).
  const source = readFileSync(join(repoRoot, 'bench', 'lib', 'node-floor.ts'), 'utf8');
  const script = join(dir, 'node-floor.mjs');
  writeFileSync(script, ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText);
  const d = startDaemon('node-floor', process.execPath, [script, String(port), String(node.port)], {
    cwd: repoRoot,
    logFile: join(dir, 'node-floor.log'),
    env: { ...process.env, NODE_ENV: 'production' },
    stopSignal: 'SIGTERM',
  });
  await waitUsable(d, port, 20_000);
  return { id: 'node-floor', label: 'bare Node.js relay (reference)', port, daemon: d };
}

/** The reference relay on Bun's native sockets (bun-floor.ts), run by Bun straight from its TypeScript. */
export async function startBunFloor(root: string, repoRoot: string, node: PgNode): Promise<Proxy> {
  const bun = bunPath(repoRoot);
  if (!existsSync(bun)) throw new Error(`bun is not installed (${bun}); npm ci installs it`);
  const dir = join(root, 'bun-floor');
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const d = startDaemon('bun-floor', bun, [join(repoRoot, 'bench', 'lib', 'bun-floor.ts'), String(port), String(node.port)], {
    cwd: repoRoot,
    logFile: join(dir, 'bun-floor.log'),
    env: { ...process.env, NODE_ENV: 'production' },
    stopSignal: 'SIGTERM',
  });
  await waitUsable(d, port, 20_000);
  return { id: 'bun-floor', label: 'bare Bun relay, native sockets (reference)', port, daemon: d };
}

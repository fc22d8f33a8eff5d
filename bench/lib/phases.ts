// Bench support: the three phases. "single": one node, every target in front of it; "standby": a
// primary + 2 streaming standbys with the 90/10 routing mix; "pglogical": 3 active-active nodes with
// the same mix. Each starts its proxies, checks where they route, runs its matrix, then stops them.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runMatrix, warmUp } from './matrix.js';
import { BENCH_DB, type PgNode } from './postgres.js';
import { PGLOGICAL_CONF, pglogicalMissing, setupPglogicalMesh } from './pglogical.js';
import { run } from './proc.js';
import { meridianYaml, queryVia, startBunFloor, startNodeFloor, startPgbouncer, startPgpool, type MeridianOptions } from './proxies.js';
import type { PhaseResult } from './results.js';
import { ROUTING_WORKLOAD, SINGLE_NODE_WORKLOADS, writeRoutingScripts } from './workloads.js';
import {
  baselineTarget,
  direct,
  matrix,
  meridianTarget,
  meridianVariants,
  profiling,
  REPO,
  stopDaemons,
  syscallRuns,
  tryStart,
  workloadsFor,
  type Ctx,
} from './phase-support.js';

const PREPARED_NOTE =
  'PgBouncer 1.18 (Debian 12) has no prepared-statement support in transaction pooling, so -M prepared ' +
  'is compared with PgBouncer in session pooling (pool size = clients), as its users would run it.';

const FLOOR_NOTE =
  'The bare relays are references, not products: one server connection per client, each chunk read written on at once, nothing parsed. ' +
  'The Node.js one (bench/lib/node-floor.ts) reads each direction into a reused buffer (onread); the Bun one (bench/lib/bun-floor.ts) ' +
  "uses Bun's native sockets (Bun.listen / Bun.connect) and buffers what the kernel does not take until drain. Their CPU per transaction " +
  'and TPS are what each runtime itself costs on this machine, under any proxy written for it: Meridian on a runtime is read against ' +
  "that runtime's relay. They do not pool, so they run only up to the pool size: past it, PostgreSQL would run a backend per client " +
  'behind them, as with direct.';

const VARIANTS_NOTE =
  'Meridian runs as three targets, interleaved with the rest: on Bun (`bun dist/cli.js --runtime bun`: the default runtime, ' +
  "Bun's native sockets), on Node.js (`node dist/cli.js --runtime node`) and on Node.js with `workers: 2` in its config " +
  '(when the build accepts the key; CPU and RSS are summed over its whole process tree).';

// ------------------------------------------------------------------------------------------ phase 1

export async function phaseSingle(ctx: Ctx, phase: PhaseResult): Promise<void> {
  const workloads = workloadsFor(ctx, SINGLE_NODE_WORKLOADS);
  if (workloads.length === 0) {
    phase.skipped = 'no single-node workload selected';
    return;
  }
  const primary = ctx.primary!;
  const maxClients = Math.max(...ctx.opts.clients);
  const meridianOpts: MeridianOptions = {
    repoRoot: REPO,
    kind: 'physical',
    nodes: [primary],
    poolSize: ctx.opts.poolSize,
    readsOnMasters: 'fallback',
    ...profiling(ctx, phase),
  };
  const hasPrepared = workloads.some((w) => w.id === 'select-prepared');
  const hasOthers = workloads.some((w) => w.id !== 'select-prepared');
  const targets = await Promise.all([
    direct(ctx, phase, primary, 'direct'),
    hasOthers
      ? tryStart(ctx, phase, 'pgbouncer', 'PgBouncer (transaction)', () => startPgbouncer(ctx.root, 'pgbouncer', primary, 'transaction', ctx.opts.poolSize))
      : null,
    hasPrepared
      ? tryStart(ctx, phase, 'pgbouncer-session', 'PgBouncer (session)', () =>
          startPgbouncer(ctx.root, 'pgbouncer-session', primary, 'session', maxClients + 8),
        )
      : null,
    tryStart(ctx, phase, 'pgpool', 'Pgpool-II', () =>
      startPgpool(ctx.root, 'pgpool', {
        backends: [primary],
        loadBalance: false,
        children: maxClients + 8,
        primaryWeight: 1,
        clusteringMode: 'streaming_replication',
      }),
    ),
    // The relay does not pool: it runs only the cells with at most pool-size clients.
    ctx.opts.clients.some((c) => c <= ctx.opts.poolSize)
      ? tryStart(ctx, phase, 'node-floor', 'bare Node.js relay (reference)', () => startNodeFloor(ctx.root, REPO, primary))
      : null,
    ctx.opts.clients.some((c) => c <= ctx.opts.poolSize)
      ? tryStart(ctx, phase, 'bun-floor', 'bare Bun relay, native sockets (reference)', () => startBunFloor(ctx.root, REPO, primary))
      : null,
    baselineTarget(ctx, phase, 'meridian-base', meridianOpts),
    meridianTarget(ctx, phase, 'meridian', meridianOpts),
    ...meridianVariants(ctx, phase, 'meridian', meridianOpts),
  ]);
  const byId = (id: string) => phase.targets.find((t) => t.id === id);
  const tx = byId('pgbouncer');
  if (tx) tx.excludes['select-prepared'] = 'no prepared statements in transaction pooling in 1.18: see PgBouncer (session)';
  const sess = byId('pgbouncer-session');
  if (sess) for (const w of workloads) if (w.id !== 'select-prepared') sess.excludes[w.id] = 'only used for -M prepared';
  if (hasPrepared && sess) phase.notes.push(PREPARED_NOTE);
  const floors = ['node-floor', 'bun-floor'].map(byId).filter((t) => t !== undefined);
  for (const floor of floors) floor.maxClients = ctx.opts.poolSize;
  if (floors.length) phase.notes.push(FLOOR_NOTE);
  if (byId('meridian-bun') || byId('meridian-w2')) phase.notes.push(VARIANTS_NOTE);
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

export async function phaseStandby(ctx: Ctx, phase: PhaseResult): Promise<void> {
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
  const sbOpts: MeridianOptions = {
    repoRoot: REPO,
    kind: 'physical',
    nodes,
    poolSize: ctx.opts.poolSize,
    readsOnMasters: 'fallback',
    ...profiling(ctx, phase),
  };
  const targets = await Promise.all([
    direct(ctx, phase, primary, 'direct (primary only)'),
    // PgBouncer cannot split reads; it stays as the reference for "× PgBouncer" (left out of --quick for time).
    ctx.opts.quick
      ? null
      : tryStart(ctx, phase, 'pgbouncer', 'PgBouncer (transaction, primary only)', () =>
          startPgbouncer(ctx.root, 'pgbouncer-sb', primary, 'transaction', ctx.opts.poolSize),
        ),
    tryStart(ctx, phase, 'pgpool', 'Pgpool-II (load balancing)', () =>
      startPgpool(ctx.root, 'pgpool-sb', {
        backends: nodes,
        loadBalance: true,
        children: maxClients + 8,
        primaryWeight: 0,
        clusteringMode: 'streaming_replication',
      }),
    ),
    baselineTarget(ctx, phase, 'meridian-base-sb', sbOpts),
    meridianTarget(ctx, phase, 'meridian-sb', sbOpts),
    ...meridianVariants(ctx, phase, 'meridian-sb', sbOpts),
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

async function meridianHeartbeat(ctx: Ctx, _nodes: readonly PgNode[], opts: MeridianOptions): Promise<void> {
  await initMeridianHeartbeat(ctx.root, opts);
}

/** `meridian init-heartbeat` with the config the bench would run (the heartbeat table on every master). */
export async function initMeridianHeartbeat(root: string, opts: MeridianOptions): Promise<void> {
  const conf = join(root, 'meridian-heartbeat.yaml');
  writeFileSync(conf, meridianYaml(1, opts));
  const r = await run(process.execPath, [join(REPO, 'dist', 'cli.js'), 'init-heartbeat', '--config', conf], { cwd: REPO, timeoutMs: 60_000 });
  if (r.code !== 0) throw new Error(`meridian init-heartbeat failed: ${(r.stderr || r.stdout).trim().slice(0, 300)}`);
  // init-heartbeat creates the table on every master and adds it to pglogical's 'default' set itself.
}

export async function phasePglogical(ctx: Ctx, phase: PhaseResult): Promise<void> {
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
  const mOpts: MeridianOptions = {
    repoRoot: REPO,
    kind: 'pglogical',
    nodes,
    poolSize: ctx.opts.poolSize,
    readsOnMasters: 'always',
    healthDatabase: BENCH_DB,
    ...profiling(ctx, phase),
  };
  const targets = await Promise.all([
    direct(ctx, phase, nodes[0]!, 'direct (n1 only)'),
    tryStart(ctx, phase, 'pgpool', 'Pgpool-II (logical replication mode)', () =>
      startPgpool(ctx.root, 'pgpool-mm', {
        backends: nodes,
        loadBalance: true,
        children: maxClients + 8,
        primaryWeight: 1,
        clusteringMode: 'logical_replication',
      }),
    ),
  ]);
  // Meridian's heartbeat table must exist before any Meridian starts (the current build makes it).
  let heartbeat: string | null = null;
  if (ctx.meridianReady === null) {
    try {
      await meridianHeartbeat(ctx, nodes, mOpts);
    } catch (e) {
      heartbeat = (e as Error).message;
    }
  }
  const meridians = await Promise.all([
    baselineTarget(ctx, phase, 'meridian-base-mm', mOpts),
    heartbeat === null
      ? meridianTarget(ctx, phase, 'meridian-mm', mOpts)
      : tryStart(ctx, phase, 'meridian', 'Meridian on Node.js', () => Promise.reject(new Error(heartbeat ?? ''))),
    ...(heartbeat === null ? meridianVariants(ctx, phase, 'meridian-mm', mOpts) : []),
  ]);
  targets.push(...meridians);
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

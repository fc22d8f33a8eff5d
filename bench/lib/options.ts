// Bench support: command-line options of bench/run.ts, validated once and frozen.
import { parseArgs } from 'node:util';

export type PhaseId = 'single' | 'standby' | 'pglogical';

export interface BenchOptions {
  readonly quick: boolean;
  readonly micro: boolean;
  readonly durationS: number; // per pgbench run
  readonly rounds: number;
  readonly clients: readonly number[]; // single-node workloads
  readonly routingClients: readonly number[];
  readonly quickClientsNote: string | null;
  readonly workloads: readonly string[] | null; // null: all
  readonly targets: readonly string[] | null; // null: all
  readonly phases: readonly PhaseId[];
  readonly scale: number;
  readonly poolSize: number;
  readonly build: boolean;
  readonly keep: boolean;
  readonly profile: boolean;
  readonly budgetMin: number;
  readonly syscalls: boolean; // count system calls per transaction of each proxy with strace -c // hard stop: no new cell or phase starts after this many minutes (0: none) // run Meridian under node --cpu-prof and summarise the profile
  readonly outDir: string | null; // results dir override (default bench/results)
  readonly render: string | null; // re-render the report from this results JSON, run nothing
  readonly baseline: string | null; // a commit of Meridian to run beside the current one (target meridian-base)
}

/** Connecting 100+ clients (a backend fork each, direct) eats into pgbench's -T: those runs get 1 s more. */
export const EXTRA_SECONDS_AT_100_CLIENTS = 1;

export function durationFor(opts: BenchOptions, clients: number): number {
  return opts.durationS + (clients >= 100 ? EXTRA_SECONDS_AT_100_CLIENTS : 0);
}

/** Every `--targets` name (pgbouncer covers both its pooling modes; meridian covers --baseline's build too). */
export const TARGET_NAMES = ['direct', 'pgbouncer', 'pgpool', 'node-floor', 'bun-floor', 'meridian', 'meridian-bun', 'meridian-w2'] as const;
const RELAYS = ['node-floor', 'bun-floor'];

/** How many targets run every cell (the relays apart): what --targets selects, else all of them. */
export function targetsPerCell(opts: BenchOptions): number {
  return (opts.targets ?? TARGET_NAMES).filter((t) => !RELAYS.includes(t)).length + (opts.baseline !== null ? 1 : 0);
}

/** A rough wall-time estimate in seconds, for the banner (per run: pgbench + ~0.6 s harness). */
export function estimateSeconds(opts: BenchOptions, targetsPerCell: number): number {
  const perRun = (c: number) => durationFor(opts, c) + 0.6;
  const single = opts.phases.includes('single') ? opts.clients.reduce((a, c) => a + 4 * perRun(c), 0) * targetsPerCell * opts.rounds : 0;
  // The bare relays run the single-node cells up to the pool size.
  const relays = RELAYS.filter((r) => opts.targets === null || opts.targets.includes(r)).length;
  const relay = opts.phases.includes('single')
    ? opts.clients.filter((c) => c <= opts.poolSize).reduce((a, c) => a + 4 * perRun(c), 0) * opts.rounds * relays
    : 0;
  const routingPhases = opts.phases.filter((p) => p !== 'single').length;
  const routing = opts.routingClients.reduce((a, c) => a + perRun(c), 0) * targetsPerCell * opts.rounds * routingPhases;
  const setup = 20 + (opts.phases.includes('standby') ? 20 : 0) + (opts.phases.includes('pglogical') ? 30 : 0);
  return single + relay + routing + setup;
}

export const HELP = `bench/run.ts — Meridian vs direct, PgBouncer and Pgpool-II, side by side (pgbench)

  node --import tsx bench/run.ts [options]

  --quick               ~3 min: 32 clients only, 1 s runs, 3 rounds, no pglogical phase, no PgBouncer
                        in the routing phase
  --micro               run the microbenchmarks (frame decoding, classification, routing, the session path) only
  --duration S          seconds per pgbench run (default 2, quick 1; 100+ clients get 1 s more)
  --rounds N            interleaved rounds per cell (default 3, minimum 1)
  --clients 1,8,32,128  client counts for the single-node workloads
  --routing-clients L   client counts for the routing workloads (default 8,32,128; quick 32)
  --workloads LIST      subset of: select-simple,select-extended,select-prepared,tpcb-simple,routing
  --targets LIST        subset of: direct,pgbouncer,pgpool,node-floor,bun-floor,meridian,meridian-bun,
                        meridian-w2 (node-floor / bun-floor: bare relays on Node.js / Bun's native
                        sockets; meridian: on Node.js; meridian-bun: the same build run by Bun;
                        meridian-w2: on Node.js with workers: 2, skipped when the build lacks the key)
  --phases LIST         subset of: single,standby,pglogical (default all; quick single,standby)
  --scale N             pgbench scale factor (default 10)
  --pool-size N         PgBouncer / Meridian pool size per database (default 20)
  --syscalls            after each phase, one extra run per proxy and workload (8 clients, fixed
                        transaction count) under strace -c: system calls per transaction
  --budget-min N        hard stop: start no new cell after N minutes (default 30; quick 6; 0: none).
                        The plan fits 15 min (quick 3) on an idle 2-core machine; a loaded one is slower
  --no-build            do not run \`npm run build\` when dist/ is stale
  --keep                keep the temp dir (data dirs, logs, generated configs, profiles)
  --profile             run Meridian under node --cpu-prof / bun --cpu-prof; the report gets its hottest functions
                        (profiling costs Meridian some throughput: its numbers are marked)
  --out DIR             write results there instead of bench/results (RESULTS.md is not touched)
  --baseline REV        also build Meridian at commit REV and run it as one more target, interleaved with
                        the current build in every round ("Meridian at REV"): a slowdown between two
                        commits within one run. The report gets a section comparing the two
  --render FILE         run nothing: write the report (and RESULTS.md, for a full run) again from a
                        results JSON, after a change to the report's format
  -h, --help            this text
`;

function list(value: string | undefined): string[] | null {
  if (value === undefined) return null;
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

function ints(value: string | undefined, name: string): number[] | null {
  const l = list(value);
  if (l === null) return null;
  const out = l.map(Number);
  if (out.some((n) => !Number.isInteger(n) || n < 1 || n > 1000)) throw new Error(`--${name}: expected positive integers, got ${value}`);
  return out;
}

function int(value: string | undefined, name: string, min: number, max: number): number | null {
  if (value === undefined) return null;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${name}: expected an integer in ${min}..${max}, got ${value}`);
  return n;
}

export function parseOptions(argv: readonly string[]): BenchOptions | 'help' {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      quick: { type: 'boolean', default: false },
      micro: { type: 'boolean', default: false },
      duration: { type: 'string' },
      rounds: { type: 'string' },
      clients: { type: 'string' },
      'routing-clients': { type: 'string' },
      workloads: { type: 'string' },
      targets: { type: 'string' },
      phases: { type: 'string' },
      scale: { type: 'string' },
      'pool-size': { type: 'string' },
      'no-build': { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
      profile: { type: 'boolean', default: false },
      'budget-min': { type: 'string' },
      syscalls: { type: 'boolean', default: false },
      out: { type: 'string' },
      render: { type: 'string' },
      baseline: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) return 'help';
  const quick = values.quick ?? false;
  const phases = (list(values.phases) ?? (quick ? ['single', 'standby'] : ['single', 'standby', 'pglogical'])) as PhaseId[];
  for (const p of phases) if (!['single', 'standby', 'pglogical'].includes(p)) throw new Error(`--phases: unknown phase ${p}`);
  const targets = list(values.targets);
  for (const t of targets ?? [])
    if (!(TARGET_NAMES as readonly string[]).includes(t)) throw new Error(`--targets: unknown target ${t} (known: ${TARGET_NAMES.join(',')})`);
  return Object.freeze({
    quick,
    micro: values.micro ?? false,
    durationS: int(values.duration, 'duration', 1, 600) ?? (quick ? 1 : 2),
    rounds: int(values.rounds, 'rounds', 1, 50) ?? 3,
    clients: ints(values.clients, 'clients') ?? (quick ? [32] : [1, 8, 32, 128]),
    routingClients: ints(values['routing-clients'], 'routing-clients') ?? (quick ? [32] : [8, 32, 128]),
    quickClientsNote: quick ? 'quick mode: 32 clients only, 1 s runs, no pglogical phase, no PgBouncer reference in the routing phase' : null,
    workloads: list(values.workloads),
    targets,
    phases,
    scale: int(values.scale, 'scale', 1, 1000) ?? 10,
    poolSize: int(values['pool-size'], 'pool-size', 1, 500) ?? 20,
    build: !(values['no-build'] ?? false),
    keep: values.keep ?? false,
    profile: values.profile ?? false,
    syscalls: values.syscalls ?? false,
    budgetMin: int(values['budget-min'], 'budget-min', 0, 600) ?? (quick ? 6 : 30),
    outDir: values.out ?? null,
    render: values.render ?? null,
    baseline: values.baseline ?? null,
  });
}

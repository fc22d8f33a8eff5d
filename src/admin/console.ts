// The admin console: database `meridian` (admin.database), users from admin.users, PgBouncer style.
// Parses one simple-Query string into a command and runs it; every answer is a proper row set (or
// a MeridianError the session turns into an ErrorResponse). One file per command; this file
// dispatches, and AdminConsole holds admin's own state (drains in progress, the reload queue,
// shutdown handlers, the switchover under way) over the AdminHost the process gives it. Keywords are case-insensitive; a
// trailing semicolon is fine.
// In a worker of a multi-process instance (`workers` > 1, host.fleet set), the commands that change
// state (DRAIN, UNDRAIN, RELOAD) run on every worker before the reply, SHOW POOLS / SHOW SESSIONS /
// SHOW ROUTES list every worker's rows, and SHOW NODES / SHOW STATS / SHOW RESIDENCY add up every
// worker's counts (fleet-admin.ts combines the answers). SHOW CONFIG and SHOW VERSION are the same
// on every worker (one file, RELOAD runs everywhere); EXPLAIN ROUTE FOR SESSION sees this worker's
// sessions only.
// With `fleet:` (several instances sharing state in etcd; `instances`), DRAIN and UNDRAIN are
// fleet-wide (drain-command.ts) and SHOW FLEET lists the instances.

import { Errors } from '../errors.js';
import type { AdminReply } from '../frontend/context.js';
import { EMPTY_QUERY } from '../protocol/encode.js';
import { drainCommand, undrainCommand } from './drain-command.js';
import { Drains } from './drain.js';
import { EventLog } from './event-log.js';
import { explainRouteCommand } from './explain-route.js';
import { combineAnswers, fanoutTimeoutMs, NODES_SUM, RESIDENCY_SUM, STATS_SUM, type FanoutKind } from './fleet-admin.js';
import { installMetricsSources } from './metrics-sources.js';
import { RoutedRates } from './page-rates.js';
import { reloadCommand, Reloads } from './reload-command.js';
import type { InstanceFleet } from './instance-fleet.js';
import { showConfig } from './show-config.js';
import { showFleet } from './show-fleet.js';
import { showNodes } from './show-nodes.js';
import { showPools } from './show-pools.js';
import { showResidency } from './show-residency.js';
import { showRoutes } from './show-routes.js';
import { showSessions } from './show-sessions.js';
import { showStats } from './show-stats.js';
import { showVersion } from './show-version.js';
import { Shutdown } from './shutdown.js';
import { switchoverCommand } from './switchover-command.js';
import { Switchovers } from './switchover.js';
import { tableFrames, text, type AdminTable } from './table.js';
import type { AdminHost, AdminSession } from './types.js';

type Command = (args: string, session: AdminSession, a: AdminConsole) => AdminTable | Promise<AdminTable>;

interface CommandSpec {
  /** Matches the whole normalized command; group 1 (if any) is the argument text. */
  readonly pattern: RegExp;
  readonly usage: string;
  readonly run: Command;
  /** How the command runs in a multi-process instance; absent: in the worker that got it only. */
  readonly fleet?: FanoutKind;
}

export const COMMANDS: readonly CommandSpec[] = [
  { pattern: /^show nodes$/i, usage: 'SHOW NODES', run: (_a, _s, a) => showNodes(a.host, a.drains), fleet: NODES_SUM },
  { pattern: /^show pools$/i, usage: 'SHOW POOLS', run: (_a, _s, a) => showPools(a.host.pools), fleet: 'concat' },
  { pattern: /^show (?:sessions|clients)$/i, usage: 'SHOW SESSIONS', run: (_a, _s, a) => showSessions(a.host), fleet: 'concat' },
  { pattern: /^show config$/i, usage: 'SHOW CONFIG', run: (_a, _s, a) => showConfig(a.host.config) },
  { pattern: /^show residency$/i, usage: 'SHOW RESIDENCY', run: (_a, _s, a) => showResidency(a.host), fleet: RESIDENCY_SUM },
  { pattern: /^show stats$/i, usage: 'SHOW STATS', run: (_a, _s, a) => showStats(a.host), fleet: STATS_SUM },
  // Each worker routes on its own backends' counts and round-robin turn: one row set per worker.
  { pattern: /^show routes$/i, usage: 'SHOW ROUTES', run: (_a, _s, a) => showRoutes(a.host), fleet: 'concat' },
  { pattern: /^show version$/i, usage: 'SHOW VERSION', run: () => showVersion() },
  { pattern: /^show (?:help|commands)$/i, usage: 'SHOW HELP', run: () => helpTable() },
  {
    pattern: /^drain\b(.*)$/i,
    usage: 'DRAIN <node> [<timeout>] [FORCE] [NOWAIT]',
    run: (args, _s, a) => drainCommand(args, a.drains, a.host.topology, a.instances),
    fleet: 'drain',
  },
  { pattern: /^undrain\b(.*)$/i, usage: 'UNDRAIN <node>', run: (args, _s, a) => undrainCommand(args, a.drains, a.instances), fleet: 'all' },
  { pattern: /^show fleet$/i, usage: 'SHOW FLEET', run: (_a, _s, a) => showFleet(a.instances) },
  { pattern: /^switchover\b(.*)$/i, usage: 'SWITCHOVER TO <node> [<timeout>]', run: (args, _s, a) => switchoverCommand(args, a.switchovers) },
  { pattern: /^reload$/i, usage: 'RELOAD', run: (_a, _s, a) => reloadCommand(a.reloads), fleet: 'all' },
  { pattern: /^explain route\b([\s\S]*)$/i, usage: 'EXPLAIN ROUTE [FOR SESSION <id>] <sql>', run: (args, s, a) => explainRouteCommand(args.trim(), s, a.host) },
  { pattern: /^shutdown$/i, usage: 'SHUTDOWN', run: (_a, _s, a) => a.shutdown.command() },
];

/** Fanned-out commands (DRAIN, UNDRAIN, RELOAD, the SHOWs with a fleet kind) read no session: none is passed. */
const NO_SESSION = null as unknown as AdminSession;

/** The commands' keywords without their arguments ("DRAIN <node> …" → "DRAIN"), for the unknown-command hint. */
const COMMAND_NAMES: readonly string[] = COMMANDS.map((c) => c.usage.split(/\s+[<[]/)[0]!);

function helpTable(): AdminTable {
  return { columns: [text('command')], rows: COMMANDS.map((c) => [c.usage]) };
}

/** Strips leading comments, surrounding blanks and trailing semicolons; folds runs of blanks (outside EXPLAIN ROUTE's SQL). */
export function normalizeCommand(sql: string): string {
  let s = sql.trim();
  for (;;) {
    if (s.startsWith('--')) {
      const end = s.indexOf('\n');
      s = end < 0 ? '' : s.slice(end + 1).trim();
    } else if (s.startsWith('/*')) {
      const end = s.indexOf('*/');
      s = end < 0 ? '' : s.slice(end + 2).trim();
    } else break;
  }
  while (s.endsWith(';')) s = s.slice(0, -1).trimEnd();
  const explain = /^explain\s+route\b/i.exec(s);
  if (explain !== null) return `explain route${s.slice(explain[0].length)}`;
  return s.replace(/\s+/g, ' ');
}

export class AdminConsole {
  readonly drains: Drains;
  readonly reloads: Reloads;
  readonly shutdown: Shutdown;
  readonly switchovers: Switchovers;
  /** The operator page's last failovers and drains: the topology store's change events, bounded. */
  readonly events = new EventLog();
  /** The operator page's routed requests per second (samples of the routed counters). */
  readonly pageRates = new RoutedRates();
  /**
   * The fleet of Meridian instances this one belongs to (`fleet:`, etcd), set by the process
   * once built; null: a single instance. DRAIN and UNDRAIN are then fleet-wide.
   */
  instances: InstanceFleet | null = null;

  constructor(readonly host: AdminHost) {
    this.drains = new Drains(host);
    this.switchovers = new Switchovers(host);
    this.reloads = new Reloads(host, this.drains);
    this.shutdown = new Shutdown(host, this.drains);
    installMetricsSources(host);
    host.topology.onEvent((ev) => this.events.record(ev, Date.now()));
  }

  async query(sql: string, session: AdminSession): Promise<AdminReply> {
    const cmd = normalizeCommand(sql);
    if (cmd === '') return { frames: EMPTY_QUERY };
    for (const spec of COMMANDS) {
      const match = spec.pattern.exec(cmd);
      if (match === null) continue;
      const table = await this.everywhere(spec, match[1] ?? '', cmd, session);
      return { frames: tableFrames(table) };
    }
    throw Errors.adminUnknownCommand(cmd.length > 80 ? `${cmd.slice(0, 80)}…` : cmd, COMMAND_NAMES);
  }

  /** Runs a command here and, in a multi-process instance, on every other worker as its spec says. */
  private async everywhere(spec: CommandSpec, args: string, cmd: string, session: AdminSession): Promise<AdminTable> {
    const fleet = this.host.fleet;
    if (fleet === null || spec.fleet === undefined) return spec.run(args, session, this);
    const kind = spec.fleet;
    const local = spec.run(args, session, this); // a bad argument throws here, before any peer is asked
    const [table, answers] = await Promise.all([local, fleet.runOnPeers(cmd, fanoutTimeoutMs(kind, args, this.host.config))]);
    return combineAnswers(kind, fleet.workerIndex, table, answers);
  }

  /**
   * A reading command for the HTTP API (GET /nodes: SHOW NODES), over the whole instance as the
   * console would answer it. Only commands that read no session.
   */
  async instanceTable(command: string): Promise<AdminTable> {
    const cmd = normalizeCommand(command);
    const spec = COMMANDS.find((c) => c.fleet !== undefined && c.pattern.test(cmd));
    if (spec === undefined) throw Errors.adminFailed(`not a command the HTTP API runs: ${cmd.slice(0, 80)}`);
    return this.everywhere(spec, spec.pattern.exec(cmd)?.[1] ?? '', cmd, NO_SESSION);
  }

  /**
   * A command another worker fanned out: run here only (never fanned out again). Only commands with
   * a fleet kind are accepted, and those read no session.
   */
  async runForPeer(command: string): Promise<AdminTable> {
    const cmd = normalizeCommand(command);
    for (const spec of COMMANDS) {
      const match = spec.pattern.exec(cmd);
      if (match === null) continue;
      if (spec.fleet === undefined) break;
      return spec.run(match[1] ?? '', NO_SESSION, this);
    }
    throw Errors.adminFailed(`not a command workers run for each other: ${cmd.slice(0, 80)}`);
  }
}

// The admin console: database `meridian` (admin.database), users from admin.users, PgBouncer style.
// Parses one simple-Query string into a command and runs it; every answer is a proper row set (or
// a MeridianError the session turns into an ErrorResponse). One file per command; this file
// only dispatches. Keywords are case-insensitive; a trailing semicolon is fine.

import { Errors } from '../errors.js';
import type { AdminReply } from '../frontend/context.js';
import type { Session } from '../frontend/session.js';
import { EMPTY_QUERY } from '../protocol/encode.js';
import type { Meridian } from '../server.js';
import { drainCommand, undrainCommand } from './drain-command.js';
import { explainRouteCommand } from './explain-route.js';
import { installMetricsSources } from './metrics-sources.js';
import { reloadCommand } from './reload-command.js';
import { showConfig } from './show-config.js';
import { showNodes } from './show-nodes.js';
import { showPools } from './show-pools.js';
import { showResidency } from './show-residency.js';
import { showRoutes } from './show-routes.js';
import { showSessions } from './show-sessions.js';
import { showStats } from './show-stats.js';
import { shutdownCommand } from './shutdown.js';
import { tableFrames, text, type AdminTable } from './table.js';

type Command = (args: string, session: Session, m: Meridian) => AdminTable | Promise<AdminTable>;

interface CommandSpec {
  /** Matches the whole normalized command; group 1 (if any) is the argument text. */
  readonly pattern: RegExp;
  readonly usage: string;
  readonly run: Command;
}

export const COMMANDS: readonly CommandSpec[] = [
  { pattern: /^show nodes$/i, usage: 'SHOW NODES', run: (_a, _s, m) => showNodes(m) },
  { pattern: /^show pools$/i, usage: 'SHOW POOLS', run: (_a, _s, m) => showPools(m) },
  { pattern: /^show (?:sessions|clients)$/i, usage: 'SHOW SESSIONS', run: (_a, _s, m) => showSessions(m) },
  { pattern: /^show config$/i, usage: 'SHOW CONFIG', run: (_a, _s, m) => showConfig(m.config) },
  { pattern: /^show residency$/i, usage: 'SHOW RESIDENCY', run: (_a, _s, m) => showResidency(m) },
  { pattern: /^show stats$/i, usage: 'SHOW STATS', run: (_a, _s, m) => showStats(m) },
  { pattern: /^show routes$/i, usage: 'SHOW ROUTES', run: (_a, _s, m) => showRoutes(m) },
  { pattern: /^show (?:help|commands)$/i, usage: 'SHOW HELP', run: () => helpTable() },
  { pattern: /^drain\b(.*)$/i, usage: 'DRAIN <node> [<timeout>] [FORCE] [NOWAIT]', run: (a, _s, m) => drainCommand(a, m) },
  { pattern: /^undrain\b(.*)$/i, usage: 'UNDRAIN <node>', run: (a, _s, m) => undrainCommand(a, m) },
  { pattern: /^reload$/i, usage: 'RELOAD', run: (_a, _s, m) => reloadCommand(m) },
  { pattern: /^explain route\b([\s\S]*)$/i, usage: 'EXPLAIN ROUTE [FOR SESSION <id>] <sql>', run: (a, s, m) => explainRouteCommand(a.trim(), s, m) },
  { pattern: /^shutdown$/i, usage: 'SHUTDOWN', run: (_a, _s, m) => shutdownCommand(m) },
];

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

export async function adminQuery(sql: string, session: Session, m: Meridian): Promise<AdminReply> {
  installMetricsSources(m);
  const cmd = normalizeCommand(sql);
  if (cmd === '') return { frames: EMPTY_QUERY };
  for (const spec of COMMANDS) {
    const match = spec.pattern.exec(cmd);
    if (match === null) continue;
    const table = await spec.run(match[1] ?? '', session, m);
    return { frames: tableFrames(table) };
  }
  throw Errors.adminUnknownCommand(cmd.length > 80 ? `${cmd.slice(0, 80)}…` : cmd);
}

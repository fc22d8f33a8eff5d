// The admin console: database `meridian` (admin.database), users from admin.users, PgBouncer style.
// Parses one simple-Query string into a command and runs it; every answer is a proper row set (or
// a MeridianError the session turns into an ErrorResponse). Commands live one per file.

import { Errors } from '../errors.js';
import type { AdminReply } from '../frontend/context.js';
import type { Session } from '../frontend/session.js';
import type { Meridian } from '../server.js';
import { showNodes } from './show-nodes.js';
import { tableFrames, type AdminTable } from './table.js';

type Command = (args: string, session: Session, m: Meridian) => Promise<AdminTable>;

const COMMANDS: ReadonlyArray<readonly [RegExp, Command]> = [
  [/^show\s+nodes$/i, (_a, _s, m) => showNodes(m)],
];

/** Strips a trailing semicolon, surrounding blanks and leading comments. */
export function normalizeCommand(sql: string): string {
  let s = sql.trim();
  while (s.startsWith('--') || s.startsWith('/*')) {
    const end = s.startsWith('--') ? s.indexOf('\n') : s.indexOf('*/');
    s = end < 0 ? '' : s.slice(end + (s.startsWith('--') ? 1 : 2)).trim();
  }
  while (s.endsWith(';')) s = s.slice(0, -1).trimEnd();
  return s.replace(/\s+/g, ' ');
}

export async function adminQuery(sql: string, session: Session, m: Meridian): Promise<AdminReply> {
  const cmd = normalizeCommand(sql);
  for (const [re, run] of COMMANDS) {
    if (re.test(cmd)) return { frames: tableFrames(await run(cmd, session, m)) };
  }
  throw Errors.adminUnknownCommand(cmd.length > 80 ? `${cmd.slice(0, 80)}…` : cmd);
}

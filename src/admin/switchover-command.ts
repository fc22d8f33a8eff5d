// SWITCHOVER TO <node> [<timeout>]: argument parsing and the row the console answers with. The
// orchestration is switchover.ts. A bare number as the timeout means seconds; units as in the config work.

import { Errors } from '../errors.js';
import { parseTimeout } from './drain-command.js';
import type { Switchovers } from './switchover.js';
import { int, text, type AdminTable } from './table.js';

export interface SwitchoverArgs {
  readonly node: string;
  readonly timeoutMs: number | undefined;
}

const USAGE = 'usage: SWITCHOVER TO <node> [<timeout>]';

/** `args` is everything after SWITCHOVER. */
export function parseSwitchoverArgs(args: string): SwitchoverArgs {
  const words = args
    .trim()
    .split(/\s+/)
    .filter((w) => w !== '');
  if (words.length < 2 || words.length > 3 || words[0]!.toUpperCase() !== 'TO') throw Errors.invalidParameter(USAGE);
  const node = words[1]!.replace(/^"(.*)"$/, '$1');
  return { node, timeoutMs: words[2] === undefined ? undefined : parseTimeout(words[2]) };
}

export async function switchoverCommand(args: string, switchovers: Switchovers): Promise<AdminTable> {
  const a = parseSwitchoverArgs(args);
  const r = await switchovers.switchTo(a.node, a.timeoutMs);
  return {
    columns: [text('node'), text('from'), text('outcome'), int('waited_ms'), int('left_running'), int('held_ms'), text('message')],
    rows: [[r.node, r.from, r.outcome, r.waitedMs, r.left, r.heldMs, `"${r.node}" is the primary; writes were held ${r.heldMs} ms`]],
    tag: 'SWITCHOVER',
  };
}

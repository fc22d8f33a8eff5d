// Which nodes the instance holds drained, as the primary follows it for workers it starts later:
// what a fanned-out DRAIN or UNDRAIN (or a RELOAD that removes nodes) changes. A DRAIN counts only
// when every worker answered it with the node drained (or draining: NOWAIT); a DRAIN that failed
// anywhere, or that an UNDRAIN aborted while it waited (answered after that UNDRAIN), changes
// nothing / forgets the node. Pure: the command text and the workers' answers in, the set changed.

import { normalizeCommand } from '../admin/console.js';
import { parseDrainArgs } from '../admin/drain-command.js';
import type { PeerAnswer } from './link.js';

/** DRAIN outcomes that leave the node drained (or on its way: NOWAIT's `started`). */
const DRAINED_OUTCOMES: ReadonlySet<unknown> = new Set(['drained', 'already-drained', 'started']);

function outcomeOf(a: PeerAnswer): unknown {
  if (!a.ok) return null;
  const i = a.table.columns.findIndex((c) => c.name === 'outcome');
  return i < 0 ? null : a.table.rows[0]?.[i];
}

/**
 * Applies a fanned-out admin command's effect on `drained`. Throws on a DRAIN whose arguments do
 * not parse (the caller logs it). Returns true for RELOAD (the caller reloads its own part).
 */
export function followDrains(drained: Set<string>, command: string, answers: readonly PeerAnswer[]): boolean {
  const cmd = normalizeCommand(command);
  const isAllOk = answers.every((a) => a.ok);
  const drain = /^drain\b(.*)$/i.exec(cmd);
  if (drain !== null) {
    const node = parseDrainArgs(drain[1] ?? '').node;
    if (isAllOk && answers.every((a) => DRAINED_OUTCOMES.has(outcomeOf(a)))) drained.add(node);
    // Aborted by an UNDRAIN while it waited: not drained, whatever was noted before.
    else if (answers.some((a) => outcomeOf(a) === 'undrained')) drained.delete(node);
    return false;
  }
  const undrain = /^undrain\s+(\S+)$/i.exec(cmd);
  if (undrain !== null) {
    if (isAllOk) drained.delete(undrain[1]!.replace(/^["']|["']$/g, ''));
    return false;
  }
  return isAllOk && /^reload$/i.test(cmd);
}

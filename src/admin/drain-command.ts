// DRAIN <node> [<timeout>] [FORCE] [NOWAIT] and UNDRAIN <node>: argument parsing and the row the
// console and the HTTP API answer with. The orchestration itself is drain.ts.
// A bare number as the timeout means seconds (`DRAIN n1 60`); units as in the config also work.

import { parseDurationMs } from '../config/units.js';
import { Errors } from '../errors.js';
import type { DrainResult, Drains, UndrainResult } from './drain.js';
import type { InstanceFleet } from './instance-fleet.js';
import { int, text, type AdminTable } from './table.js';
import type { AdminTopology } from './types.js';

export interface DrainArgs {
  readonly node: string;
  readonly timeoutMs: number | undefined;
  readonly force: boolean;
  readonly noWait: boolean;
}

function unquote(word: string): string {
  if (word.length >= 2 && ((word.startsWith('"') && word.endsWith('"')) || (word.startsWith("'") && word.endsWith("'")))) return word.slice(1, -1);
  return word;
}

export function parseTimeout(word: string): number {
  const ms = /^\d+(\.\d+)?$/.test(word) ? Math.round(Number(word) * 1000) : parseDurationMs(word);
  if (ms === null) throw Errors.invalidParameter(`invalid drain timeout "${word}" (e.g. 30s, 500ms, 2m, or seconds)`);
  return ms;
}

/** `args` is everything after DRAIN. */
export function parseDrainArgs(args: string): DrainArgs {
  const words = args
    .trim()
    .split(/\s+/)
    .filter((w) => w !== '');
  const first = words.shift();
  if (first === undefined) throw Errors.invalidParameter('usage: DRAIN <node> [<timeout>] [FORCE] [NOWAIT]');
  let timeoutMs: number | undefined;
  let force = false;
  let noWait = false;
  for (const w of words) {
    const up = w.toUpperCase();
    if (up === 'FORCE') force = true;
    else if (up === 'NOWAIT') noWait = true;
    else if (timeoutMs === undefined) timeoutMs = parseTimeout(w);
    else throw Errors.invalidParameter(`unexpected "${w}"; usage: DRAIN <node> [<timeout>] [FORCE] [NOWAIT]`);
  }
  return { node: unquote(first), timeoutMs, force, noWait };
}

function drainResultTable(r: DrainResult): AdminTable {
  const message =
    r.outcome === 'already-drained'
      ? `node "${r.node}" was already drained`
      : r.outcome === 'undrained'
        ? `drain of "${r.node}" aborted by UNDRAIN`
        : `node "${r.node}" drained`;
  return {
    columns: [text('node'), text('state'), text('outcome'), int('waited_ms'), int('cancelled'), int('closed'), int('left_running'), text('message')],
    rows: [[r.node, r.state, r.outcome, r.waitedMs, r.cancelled, r.closed, r.left, message]],
    tag: 'DRAIN',
  };
}

function startedTable(node: string, state: string | null, message: string): AdminTable {
  return {
    columns: [text('node'), text('state'), text('outcome'), int('waited_ms'), int('cancelled'), int('closed'), int('left_running'), text('message')],
    rows: [[node, state, 'started', 0, 0, 0, 0, message]],
    tag: 'DRAIN',
  };
}

/**
 * DRAIN. With a fleet of instances (`fleet:`) it is fleet-wide: written to etcd, applied by every
 * live instance, answered once all did (NOWAIT: once all took the node out of routing).
 */
export async function drainCommand(args: string, drains: Drains, topology: AdminTopology, fleet: InstanceFleet | null = null): Promise<AdminTable> {
  const a = parseDrainArgs(args);
  if (fleet !== null) {
    const r = await fleet.drain(a.node, { timeoutMs: a.timeoutMs, force: a.force, noWait: a.noWait });
    if (r === 'started')
      return startedTable(
        a.node,
        topology.snapshot.byName.get(a.node)?.state ?? null,
        `drain of "${a.node}" started on every instance; SHOW NODES shows progress`,
      );
    return drainResultTable(r);
  }
  const done = drains.drain(a.node, { timeoutMs: a.timeoutMs, force: a.force, reason: 'DRAIN (admin console)' });
  if (a.noWait) {
    done.catch(() => {});
    return startedTable(a.node, topology.snapshot.byName.get(a.node)?.state ?? null, `drain of "${a.node}" started; SHOW NODES shows progress`);
  }
  return drainResultTable(await done);
}

/** UNDRAIN; fleet-wide with `fleet:` (answered once every live instance undrained the node). */
export async function undrainCommand(args: string, drains: Drains, fleet: InstanceFleet | null = null): Promise<AdminTable> {
  const words = args
    .trim()
    .split(/\s+/)
    .filter((w) => w !== '');
  if (words.length !== 1) throw Errors.invalidParameter('usage: UNDRAIN <node>');
  const node = unquote(words[0]!);
  const r: UndrainResult = fleet === null ? drains.undrain(node) : await fleet.undrain(node);
  return { columns: [text('node'), text('state'), text('message')], rows: [[r.node, r.state, r.message]], tag: 'UNDRAIN' };
}

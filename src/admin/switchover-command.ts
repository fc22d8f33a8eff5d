// SWITCHOVER TO <node> [<timeout>]: a planned change of primary through Patroni (cluster.patroni)
// that clients do not see. In order: new writes are held (the topology's writesHeld; they wait up
// to routing.write_wait, reads go on); the write transactions in flight on the old primary get up
// to the timeout (default cluster.patroni.switchover_timeout) to finish; Patroni is asked for the
// switchover (POST /switchover); Meridian follows the promotion (the new leader in Patroni's view,
// out of recovery by its probe) and releases the held writes onto it. Transactions the old
// primary's shutdown still ends are replayed with routing.transaction_replay. Without Patroni:
// 0A000. Single process only (with workers > 1 each worker holds its own backends): 0A000.

import { Errors } from '../errors.js';
import type { PatroniSource } from '../patroni/patroni-source.js';
import { parseTimeout } from './drain-command.js';
import { int, text, type AdminTable } from './table.js';
import type { AdminHost } from './types.js';

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

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** One switchover at a time per process. */
let running = false;

export async function switchoverCommand(args: string, host: AdminHost): Promise<AdminTable> {
  const a = parseSwitchoverArgs(args);
  if (host.fleet !== null)
    throw Errors.featureNotSupported(
      'SWITCHOVER TO is not supported with workers > 1 (each worker holds its own backends); use Patroni (patronictl switchover): Meridian follows it',
    );
  const patroni = host.patroni();
  if (patroni === null) {
    throw Errors.featureNotSupported(
      'SWITCHOVER TO needs cluster.patroni: Meridian asks Patroni to promote the node and follows it (without Patroni nothing can promote a standby)',
    );
  }
  const snap = host.topology.snapshot;
  if (!snap.byName.has(a.node)) {
    throw Errors.invalidParameter(`SWITCHOVER TO ${a.node}: no node named "${a.node}" (nodes: ${snap.nodes.map((n) => n.name).join(', ')})`);
  }
  if (running) throw Errors.adminFailed('a switchover is already under way');
  running = true;
  try {
    return await runSwitchover(a, host, patroni);
  } finally {
    running = false;
  }
}

async function runSwitchover(a: SwitchoverArgs, host: AdminHost, patroni: PatroniSource): Promise<AdminTable> {
  const timeoutMs = a.timeoutMs ?? patroni.config.switchoverTimeoutMs;
  await patroni.pollNow();
  const target = patroni.memberOf(a.node);
  if (patroni.view === null) throw Errors.adminFailed(`Patroni does not answer (${patroni.lastError ?? 'no view yet'}): no switchover`);
  if (target === undefined)
    throw Errors.adminFailed(`node "${a.node}" is not a member of the Patroni cluster (members: ${patroni.view.members.map((m) => m.name).join(', ')})`);
  const leader = patroni.view.members.find((m) => m.role === 'leader');
  if (leader === undefined) throw Errors.adminFailed('Patroni reports no leader: no switchover (a failover may be under way)');
  if (leader.name === target.name) throw Errors.adminFailed(`node "${a.node}" is already the primary`);
  const oldNode = host.topology.snapshot.nodes.find((n) => patroni.memberOf(n.name)?.name === leader.name)?.name ?? null;
  const log = host.logger.child({ component: 'switchover' });
  const t0 = Date.now();
  host.topology.holdWrites('switchover', `switchover to ${a.node} under way (SWITCHOVER TO)`);
  log.warn({ from: oldNode ?? leader.name, to: a.node }, 'switchover started: writes held');
  try {
    // The transactions running on the old primary finish there (none new start: writes are held).
    let left = oldNode === null ? 0 : host.pools.activeBackends(oldNode);
    while (left > 0 && Date.now() - t0 < timeoutMs) {
      await sleep(20);
      left = host.pools.activeBackends(oldNode!);
    }
    const waitedMs = Date.now() - t0;
    if (left > 0)
      log.warn({ node: oldNode, left }, 'switchover: transactions still running on the old primary at the timeout (replayed if routing.transaction_replay)');
    const res = await patroni.switchover(leader.name, target.name, timeoutMs);
    if (!res.ok || res.status !== 200) {
      const why = res.ok ? `HTTP ${res.status}: ${res.body.slice(0, 200)}` : res.error;
      host.metrics.switchovers.inc({ result: 'failed' });
      throw Errors.adminFailed(`Patroni did not switch over to "${a.node}": ${why}`);
    }
    const promotedMs = await followPromotion(a.node, host, patroni, t0 + waitedMs + 2 * timeoutMs);
    if (promotedMs === null) {
      host.metrics.switchovers.inc({ result: 'failed' });
      throw Errors.adminFailed(`Patroni switched over, but "${a.node}" did not take writes within ${timeoutMs} ms (Patroni: ${res.body.slice(0, 200)})`);
    }
    host.metrics.switchovers.inc({ result: 'done' });
    const heldMs = Date.now() - t0;
    log.warn({ from: oldNode, to: a.node, waitedMs, heldMs, leftRunning: left }, 'switchover done: writes released');
    return {
      columns: [text('node'), text('from'), text('outcome'), int('waited_ms'), int('left_running'), int('held_ms'), text('message')],
      rows: [[a.node, oldNode ?? leader.name, 'done', waitedMs, left, heldMs, `"${a.node}" is the primary; writes were held ${heldMs} ms`]],
      tag: 'SWITCHOVER',
    };
  } finally {
    host.topology.holdWrites('switchover', null);
  }
}

/** Until the node is up and a master in the topology (Patroni's leader, its probe out of recovery); ms since the command, or null at the deadline. */
async function followPromotion(node: string, host: AdminHost, patroni: PatroniSource, deadlineMs: number): Promise<number | null> {
  for (;;) {
    const n = host.topology.snapshot.byName.get(node);
    if (n !== undefined && n.isUp && n.role === 'master' && !n.isSplitBrain) return Date.now();
    if (Date.now() >= deadlineMs) return null;
    await patroni.pollNow();
    await sleep(50);
  }
}

// POST /nodes/:name/drain and /nodes/:name/undrain. Drain options come from the query string or a
// JSON body: timeout ("30s", or seconds), force (bool), wait (bool, default true: answer when the
// node is drained; false: 202 at once). In a multi-process instance every worker drains (or
// undrains) the node before the answer, through the same admin command the console fans out.
// With a fleet of instances (`fleet:`, etcd) both are fleet-wide, as the console's DRAIN/UNDRAIN;
// while etcd is unreachable they answer 503 (SQLSTATE 57M03 in the body's code FLEET_STALE).
// POST /nodes/:name/switchover: SWITCHOVER TO (single process only).

import type { MeridianConfig } from '../config/types.js';
import { MeridianError } from '../errors.js';
import type { FleetLink, PeerAnswer } from '../fleet/link.js';
import { parseTimeout } from './drain-command.js';
import type { DrainResult, Drains } from './drain.js';
import type { Switchovers } from './switchover.js';
import { combineAnswers, fanoutTimeoutMs, peerTables } from './fleet-admin.js';
import type { InstanceFleet } from './instance-fleet.js';
import type { AdminTopology } from './types.js';

export interface HttpResult {
  readonly status: number;
  readonly body: unknown;
}

function truthy(v: unknown): boolean {
  return v === true || v === 1 || v === '1' || v === 'true' || v === 'yes' || v === '';
}

function errorResult(err: unknown): HttpResult {
  if (!(err instanceof MeridianError)) throw err;
  const status =
    err.code === 'INVALID_PARAMETER' && /unknown node/.test(err.message)
      ? 404
      : err.code === 'INVALID_PARAMETER'
        ? 400
        : err.code === 'FLEET_STALE'
          ? 503
          : 409;
  return { status, body: { error: err.message, code: err.code } };
}

/** Runs the console command on the other workers (none in a single process); a failed worker throws 55000. */
async function onPeers(fleet: FleetLink | null, cfg: MeridianConfig | null, command: string): Promise<PeerAnswer[]> {
  if (fleet === null || cfg === null) return [];
  const isDrain = command.startsWith('DRAIN');
  return fleet.runOnPeers(command, fanoutTimeoutMs(isDrain ? 'drain' : 'all', command.replace(/^\S+/, ''), cfg));
}

/** This worker's drain result with the other workers' counts added (their longest wait). */
function withPeers(local: DrainResult, answers: readonly PeerAnswer[]): DrainResult {
  const row = [local.node, local.state, local.outcome, local.waitedMs, local.cancelled, local.closed, local.left, ''];
  const out = combineAnswers('drain', 0, { columns: [], rows: [row] }, answers).rows[0] ?? row;
  return {
    ...local,
    outcome: out[2] as DrainResult['outcome'],
    waitedMs: out[3] as number,
    cancelled: out[4] as number,
    closed: out[5] as number,
    left: out[6] as number,
  };
}

export async function httpDrain(
  drains: Drains,
  topology: AdminTopology,
  node: string,
  body: string,
  q: URLSearchParams,
  fleet: FleetLink | null = null,
  cfg: MeridianConfig | null = null,
  instances: InstanceFleet | null = null,
): Promise<HttpResult> {
  let opts: Record<string, unknown> = {};
  if (body.trim() !== '') {
    try {
      const parsed: unknown = JSON.parse(body);
      if (parsed !== null && typeof parsed === 'object') opts = parsed as Record<string, unknown>;
    } catch {
      return { status: 400, body: { error: 'body is not JSON' } };
    }
  }
  for (const [k, v] of q) opts[k] = v;
  try {
    const timeoutMs = opts.timeout === undefined ? undefined : parseTimeout(String(opts.timeout));
    if (instances !== null) {
      // Fleet-wide: every live instance drains it (answered as the console's DRAIN is).
      const isNoWaitFleet = opts.wait !== undefined && !truthy(opts.wait);
      const r = await instances.drain(node, { timeoutMs, force: truthy(opts.force), noWait: isNoWaitFleet });
      if (r === 'started') return { status: 202, body: { node, state: topology.snapshot.byName.get(node)?.state ?? null, outcome: 'started' } };
      return { status: 200, body: r };
    }
    const done = drains.drain(node, { timeoutMs, force: truthy(opts.force), reason: 'DRAIN (http)' });
    const isNoWait = opts.wait !== undefined && !truthy(opts.wait);
    const peerCommand = `DRAIN ${node}${timeoutMs === undefined ? '' : ` ${timeoutMs}ms`}${truthy(opts.force) ? ' FORCE' : ''}${isNoWait ? ' NOWAIT' : ''}`;
    if (isNoWait) {
      done.catch(() => {});
      peerTables(await onPeers(fleet, cfg, peerCommand));
      return { status: 202, body: { node, state: topology.snapshot.byName.get(node)?.state ?? null, outcome: 'started' } };
    }
    const [local, answers] = await Promise.all([done, onPeers(fleet, cfg, peerCommand)]);
    return { status: 200, body: withPeers(local, answers) };
  } catch (err) {
    return errorResult(err);
  }
}

/** POST /nodes/:name/switchover (timeout in the query string or a JSON body): SWITCHOVER TO's result as JSON. */
export async function httpSwitchover(switchovers: Switchovers, node: string, body: string, q: URLSearchParams): Promise<HttpResult> {
  let timeout: unknown = q.get('timeout') ?? undefined;
  if (timeout === undefined && body.trim() !== '') {
    try {
      timeout = (JSON.parse(body) as { timeout?: unknown } | null)?.timeout;
    } catch {
      return { status: 400, body: { error: 'body is not JSON' } };
    }
  }
  try {
    return { status: 200, body: await switchovers.switchTo(node, timeout === undefined ? undefined : parseTimeout(String(timeout))) };
  } catch (err) {
    if (err instanceof MeridianError && err.code === 'NOT_SUPPORTED') return { status: 501, body: { error: err.message, code: err.code } };
    return errorResult(err);
  }
}

export async function httpUndrain(
  drains: Drains,
  node: string,
  fleet: FleetLink | null = null,
  cfg: MeridianConfig | null = null,
  instances: InstanceFleet | null = null,
): Promise<HttpResult> {
  try {
    if (instances !== null) return { status: 200, body: await instances.undrain(node) };
    const r = drains.undrain(node);
    peerTables(await onPeers(fleet, cfg, `UNDRAIN ${node}`));
    return { status: 200, body: r };
  } catch (err) {
    return errorResult(err);
  }
}

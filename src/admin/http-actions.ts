// POST /nodes/:name/drain and /nodes/:name/undrain. Drain options come from the query string or a
// JSON body: timeout ("30s", or seconds), force (bool), wait (bool, default true: answer when the
// node is drained; false: 202 at once).

import { MeridianError } from '../errors.js';
import { parseTimeout } from './drain-command.js';
import type { Drains } from './drain.js';
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
  const status = err.code === 'INVALID_PARAMETER' && /unknown node/.test(err.message) ? 404 : err.code === 'INVALID_PARAMETER' ? 400 : 409;
  return { status, body: { error: err.message, code: err.code } };
}

export async function httpDrain(drains: Drains, topology: AdminTopology, node: string, body: string, q: URLSearchParams): Promise<HttpResult> {
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
    const done = drains.drain(node, { timeoutMs, force: truthy(opts.force), reason: 'DRAIN (http)' });
    if (opts.wait !== undefined && !truthy(opts.wait)) {
      done.catch(() => {});
      return { status: 202, body: { node, state: topology.snapshot.byName.get(node)?.state ?? null, outcome: 'started' } };
    }
    return { status: 200, body: await done };
  } catch (err) {
    return errorResult(err);
  }
}

export async function httpUndrain(drains: Drains, node: string): Promise<HttpResult> {
  try {
    return { status: 200, body: drains.undrain(node) };
  } catch (err) {
    return errorResult(err);
  }
}

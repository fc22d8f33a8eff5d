// The admin HTTP API (admin.http): GET /metrics (Prometheus), GET /healthz (process up), GET
// /readyz (200 only while a write target exists and no stop has begun), GET /nodes (JSON, as SHOW
// NODES), GET /fleet (JSON, as SHOW FLEET), POST /nodes/:name/drain, /nodes/:name/undrain and
// /nodes/:name/switchover (SWITCHOVER TO), and the operator's page: GET /ui (a static shell),
// /ui/app.js and /ui/app.css (no data, no token), GET /ui/state (its data, JSON). Everything but
// /healthz, /metrics, the page's static files and /readyz's status needs `Authorization: Bearer
// <admin.http.token>`; a missing or wrong token is 401, and with no token
// configured every protected endpoint is 401. Every endpoint first checks the Host header against
// loopback names, the listen address and admin.http.allowed_hosts (421 otherwise), so a web page
// cannot reach the API through DNS rebinding. Thin: the facts and actions come from the same
// functions and admin state (AdminConsole) the console uses.

import { createHash, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { MeridianError } from '../errors.js';
import { runtimeInfo } from '../net/runtime.js';
import type { AdminConsole } from './console.js';
import { httpDrain, httpSwitchover, httpUndrain } from './http-actions.js';
import { PAGE_HEADERS, pageAsset } from './page/assets.js';
import { gatherPageState } from './page-source.js';
import { writeTarget } from './readiness.js';
import { fleetJson } from './show-fleet.js';
import { tableObjects } from './table.js';

export interface RunningHttp {
  readonly port: number;
  close(): Promise<void>;
}

function send(res: http.ServerResponse, status: number, body: unknown, contentType = 'application/json', headers: Readonly<Record<string, string>> = {}): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': contentType, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', ...headers });
  res.end(text);
}

const sha256 = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/**
 * Constant-time bearer check; no configured token means nobody is authorized. Both sides are
 * hashed first: equal-length digests, so neither an early length check nor the comparison's
 * time says how long the token is.
 */
export function isAuthorized(header: string | undefined, token: string | null): boolean {
  if (token === null || token === '' || header === undefined) return false;
  const m = /^Bearer\s+(.+)$/i.exec(header.trim());
  if (m === null) return false;
  return timingSafeEqual(sha256(m[1]!), sha256(token));
}

const LOOPBACK_NAMES: readonly string[] = ['localhost', '127.0.0.1', '::1'];

/** The host name of a Host header or an allow-list entry: no port, no brackets, lower case. */
export function hostName(value: string): string {
  let h = value.trim().toLowerCase();
  if (h.startsWith('[')) {
    const end = h.indexOf(']');
    h = end === -1 ? h.slice(1) : h.slice(1, end);
  } else if (h.indexOf(':') === h.lastIndexOf(':')) {
    h = h.replace(/:\d*$/, ''); // one colon: host:port (more: a bare IPv6 address)
  }
  return h.endsWith('.') ? h.slice(0, -1) : h;
}

/**
 * DNS rebinding guard: a browser that fetched an attacker's page sends the attacker's host name
 * in Host. Accepted: loopback names, the listen address (unless a wildcard) and allowed_hosts.
 */
export function isAllowedHost(header: string | undefined, listenHost: string, allowedHosts: readonly string[]): boolean {
  if (header === undefined || header.trim() === '') return false;
  const host = hostName(header);
  if (LOOPBACK_NAMES.includes(host)) return true;
  const listen = hostName(listenHost);
  if (host === listen && listen !== '0.0.0.0' && listen !== '::') return true;
  return allowedHosts.some((a) => hostName(a) === host);
}

async function readBody(req: http.IncomingMessage, limit = 64 * 1024): Promise<string> {
  let size = 0;
  const parts: Buffer[] = [];
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new Error('request body too large');
    parts.push(chunk as Buffer);
  }
  return Buffer.concat(parts).toString('utf8');
}

async function handle(a: AdminConsole, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const m = a.host;
  const httpCfg = m.config.admin.http;
  if (!isAllowedHost(req.headers.host, httpCfg?.host ?? '127.0.0.1', httpCfg?.allowedHosts ?? [])) {
    return send(res, 421, { error: 'host not allowed (admin.http.allowed_hosts)' });
  }
  const url = new URL(req.url ?? '/', 'http://meridian');
  const path = url.pathname.replace(/\/+$/, '') || '/';
  const method = req.method ?? 'GET';
  if (path === '/healthz') {
    if (method !== 'GET' && method !== 'HEAD') return send(res, 405, { error: 'method not allowed' });
    return send(res, 200, { status: 'ok', shuttingDown: m.isShuttingDown(), runtime: runtimeInfo.runtime, runtimeVersion: runtimeInfo.version });
  }
  if (path === '/metrics') {
    if (method !== 'GET' && method !== 'HEAD') return send(res, 405, { error: 'method not allowed' });
    return send(res, 200, await m.metrics.text(), m.metrics.registry.contentType);
  }
  const asset = pageAsset(path);
  if (asset !== undefined) {
    // The operator page's shell, script and stylesheet: static, no data, so no token (the shell asks for it).
    if (method !== 'GET' && method !== 'HEAD') return send(res, 405, { error: 'method not allowed' });
    return send(res, 200, asset.body, asset.contentType, PAGE_HEADERS);
  }
  const token = m.config.admin.http?.token ?? null;
  if (path === '/readyz') {
    // Open, for load balancers and orchestrators' probes: the status code says it; the write
    // target's name or the reason only with the token.
    if (method !== 'GET' && method !== 'HEAD') return send(res, 405, { error: 'method not allowed' });
    const t = writeTarget(m);
    const ready = t.ok && !m.isShuttingDown();
    if (!isAuthorized(req.headers.authorization, token))
      return send(res, ready ? 200 : 503, { ready, ...(m.isShuttingDown() ? { reason: 'shutting down' } : {}) });
    return send(
      res,
      ready ? 200 : 503,
      t.ok ? { ready, writeTarget: t.node, ...(m.isShuttingDown() ? { reason: 'shutting down' } : {}) } : { ready: false, reason: t.reason },
    );
  }
  if (!isAuthorized(req.headers.authorization, token)) {
    res.setHeader('www-authenticate', 'Bearer realm="meridian"');
    return send(res, 401, { error: 'unauthorized' });
  }
  if (path === '/nodes') {
    if (method !== 'GET' && method !== 'HEAD') return send(res, 405, { error: 'method not allowed' });
    // The console's SHOW NODES: in a multi-process instance, every worker's backends and routed counts.
    return send(res, 200, { nodes: tableObjects(await a.instanceTable('SHOW NODES')) });
  }
  if (path === '/ui/state') {
    if (method !== 'GET' && method !== 'HEAD') return send(res, 405, { error: 'method not allowed' });
    return send(res, 200, await gatherPageState(a), 'application/json', PAGE_HEADERS);
  }
  if (path === '/fleet') {
    if (method !== 'GET' && method !== 'HEAD') return send(res, 405, { error: 'method not allowed' });
    return send(res, 200, fleetJson(a.instances));
  }
  const action = /^\/nodes\/([^/]+)\/(drain|undrain|switchover)$/.exec(path);
  if (action !== null) {
    if (method !== 'POST') return send(res, 405, { error: 'method not allowed' });
    const node = decodeURIComponent(action[1]!);
    const body = await readBody(req);
    const r =
      action[2] === 'drain'
        ? await httpDrain(a.drains, m.topology, node, body, url.searchParams, m.fleet, m.config, a.instances)
        : action[2] === 'switchover'
          ? await httpSwitchover(a.switchovers, node, body, url.searchParams)
          : await httpUndrain(a.drains, node, m.fleet, m.config, a.instances);
    return send(res, r.status, r.body);
  }
  return send(res, 404, { error: 'not found' });
}

export async function startHttp(a: AdminConsole): Promise<RunningHttp> {
  const cfg = a.host.config.admin.http;
  if (cfg === null) throw new Error('admin.http is not configured');
  const server = http.createServer((req, res) => {
    handle(a, req, res).catch((err: unknown) => {
      const status = err instanceof MeridianError ? (err.sqlstate === '42704' ? 404 : 409) : 500;
      if (!res.headersSent) send(res, status, { error: (err as Error).message, code: err instanceof MeridianError ? err.code : undefined });
      else res.end();
    });
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(cfg.port, cfg.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  a.host.logger.info({ host: cfg.host, port }, 'admin http listening');
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

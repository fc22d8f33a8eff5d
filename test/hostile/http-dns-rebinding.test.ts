// Issue 14: DNS rebinding against the admin HTTP API. A page on attacker.example whose name is
// rebound to 127.0.0.1 makes the browser send `Host: attacker.example`: every endpoint (/metrics,
// /healthz, /nodes, drain) must refuse it (421) while loopback names, the listen address and
// admin.http.allowed_hosts still work. No cluster needed: the one node is never reached.
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHttp, type RunningHttp } from '../../src/admin/http.js';
import { parseConfigText } from '../../src/config/load-config.js';
import { createLogger } from '../../src/logger.js';
import { Meridian } from '../../src/server.js';

const TOKEN = 'rebinding-test-token-5b1e';
let m: Meridian;
let api: RunningHttp;

function get(path: string, host: string | null, method = 'GET'): Promise<number> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { authorization: `Bearer ${TOKEN}` };
    if (host !== null) headers.host = host;
    const req = http.request({ host: '127.0.0.1', port: api.port, path, method, headers, setHost: host !== null }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

beforeAll(async () => {
  const cfg = parseConfigText(
    `listen: { host: 127.0.0.1, port: 0 }
users:
  - { name: app, password: "app-pw-rebinding", auth: scram-sha-256 }
cluster:
  kind: physical
  nodes:
    - { name: n1, host: 127.0.0.1, port: 1, region: local }
admin:
  http: { host: 127.0.0.1, port: 0, token: "${TOKEN}", allowed_hosts: [meridian.test] }
log: { level: silent }
`,
    'rebinding.yaml',
  );
  m = new Meridian(cfg, { logger: createLogger('silent') });
  await m.start();
  api = await startHttp(m.admin);
});

afterAll(async () => {
  await api?.close();
  await m?.stop(0);
});

describe('admin HTTP: Host header allow-list', () => {
  it('every endpoint refuses a foreign Host with 421 and changes nothing', async () => {
    const t0 = performance.now();
    const paths: [string, string][] = [
      ['/metrics', 'GET'],
      ['/healthz', 'GET'],
      ['/readyz', 'GET'],
      ['/nodes', 'GET'],
      ['/nodes/n1/drain?wait=false', 'POST'],
    ];
    const statuses: number[] = [];
    for (const host of ['attacker.example', `attacker.example:${api.port}`, 'localhost.attacker.example']) {
      for (const [path, method] of paths) statuses.push(await get(path, host, method));
    }
    expect(statuses.every((s) => s === 421)).toBe(true);
    expect(m.snapshot().byName.get('n1')?.state).toBe('active');
    console.log(`${statuses.length} rebinding requests refused with 421 in ${(performance.now() - t0).toFixed(1)} ms`);
  });

  it('loopback names, the listen address and allowed_hosts are served', async () => {
    for (const host of [`127.0.0.1:${api.port}`, `localhost:${api.port}`, `[::1]:${api.port}`, 'meridian.test']) {
      expect(await get('/metrics', host), host).toBe(200);
      expect(await get('/healthz', host), host).toBe(200);
    }
  });
});

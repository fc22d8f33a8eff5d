// Issue 6 acceptance: the admin HTTP API against a real 3-node pglogical cluster — /metrics and
// /healthz are public, and so is /readyz's status (its write target's name needs the token); /nodes
// and POST /nodes/:name/drain|undrain need the bearer token (401 without it or with a wrong one);
// /readyz follows the existence of a write target.

import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startHttp, type RunningHttp } from '../../src/admin/http.js';
import { sharedCluster, waitFor, type PglogicalCluster } from '../support/cluster.js';
import { startMeridian, type RunningMeridian } from '../helpers/meridian.js';
import pg from 'pg';

const TOKEN = 'http-test-token';
let cluster: PglogicalCluster;
let mer: RunningMeridian;
let http: RunningHttp;

function url(path: string): string {
  return `http://127.0.0.1:${http.port}${path}`;
}

const auth = { authorization: `Bearer ${TOKEN}` };

/** The heartbeat table pglogical lag needs (idempotent; safe when another file does the same). */
async function ensureHeartbeat(c: PglogicalCluster): Promise<void> {
  for (const n of c.nodes) {
    await n.query('CREATE TABLE IF NOT EXISTS meridian_heartbeat(node text PRIMARY KEY, ts timestamptz NOT NULL)').catch(() => {});
    const [r] = await n.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM pglogical.replication_set_table WHERE set_reloid = 'meridian_heartbeat'::regclass",
    );
    if (r?.n === 0) await n.query("SELECT pglogical.replication_set_add_table('default', 'meridian_heartbeat', synchronize_data := false)").catch(() => {});
  }
}

/** Every node up, active and with a known lag (probes can lag behind on a loaded 2-core host). */
async function settled(m: RunningMeridian['m']): Promise<void> {
  await waitFor(() => m.snapshot().nodes.every((n) => n.isUp && n.state === 'active' && n.lagMs !== null), {
    timeoutMs: 60_000,
    what: () => `every node up, active, lag known: ${JSON.stringify(m.snapshot().nodes.map((n) => [n.name, n.isUp, n.state, n.lagMs]))}`,
  });
}

beforeAll(async () => {
  cluster = await sharedCluster('pglogical');
  await ensureHeartbeat(cluster);
  mer = await startMeridian(cluster, { extraYaml: 'drain: { timeout: 5s }\nrouting: { readmit_max_lag: 5s }' });
  await settled(mer.m);
  // admin.http is restart-only; set it before the HTTP server starts, as the config file would.
  mer.m.config = Object.freeze({ ...mer.m.config, admin: { ...mer.m.config.admin, http: { host: '127.0.0.1', port: 0, token: TOKEN, allowedHosts: [] } } });
  http = await startHttp(mer.m.admin);
});

// Tests change node state; start each from a settled topology.
beforeEach(async () => {
  await settled(mer.m);
});

afterAll(async () => {
  await http?.close();
  await mer?.stop();
});

describe('public endpoints', () => {
  it('GET /healthz answers 200 without a token', async () => {
    const r = await fetch(url('/healthz'));
    expect(r.status).toBe(200);
    expect(await r.json()).toMatchObject({ status: 'ok' });
  });

  it('GET /metrics is Prometheus text with every issue-6 metric, without a token', async () => {
    const c = new pg.Client({ connectionString: mer.dsn('app') });
    await c.connect();
    await c.query('select 1');
    await c.query('select * from nosuchtable').catch(() => {});
    // pg reports the error on ErrorResponse, before Meridian may have read the ReadyForQuery
    // that frees the session's backend; one more query makes the session surely idle.
    await c.query('select 1');
    const r = await fetch(url('/metrics'));
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await r.text();
    await c.end();
    for (const name of [
      'meridian_client_sessions',
      'meridian_backends',
      'meridian_routed_requests_total',
      'meridian_request_duration_seconds_bucket',
      'meridian_node_up',
      'meridian_node_role',
      'meridian_node_state',
      'meridian_node_lag_ms',
      'meridian_node_lag_bytes',
      'meridian_node_rtt_ms',
      'meridian_probe_failures_total',
      'meridian_evictions_total',
      'meridian_failovers_total',
      'meridian_node_draining',
      'meridian_residency_refusals_total',
      'meridian_pool_wait_seconds',
      'meridian_errors_total',
      'meridian_pinned_sessions',
    ])
      expect(text, name).toContain(name);
    expect(text).toMatch(/meridian_client_sessions\{state="idle"\} [1-9]/);
    expect(text).toMatch(/meridian_node_up\{node="n1",region="r1"\} 1/);
    expect(text).toMatch(/meridian_node_role\{node="n2",role="master"\} 1/);
    expect(text).toMatch(/meridian_node_state\{node="n3",state="active"\} 1/);
    expect(text).toMatch(/meridian_backends\{node="n\d",state="idle"\} [1-9]/);
    expect(text).toMatch(/meridian_routed_requests_total\{node="n\d",class="read"\} [1-9]/);
    expect(text).toMatch(/meridian_errors_total\{class="42"\} [1-9]/);
    expect(text).toMatch(/meridian_node_lag_ms\{node="n1"\} \d/);
  });
});

describe('protected endpoints', () => {
  it('GET /readyz without the token: the status only (for probes), no node names', async () => {
    for (const headers of [{}, { authorization: 'Bearer nope' }] as Record<string, string>[]) {
      const r = await fetch(url('/readyz'), { headers });
      expect(r.status).toBe(200);
      expect(await r.json()).toEqual({ ready: true });
    }
  });

  it.each(['/nodes'])('GET %s: 401 without a token or with a wrong one', async (path) => {
    expect((await fetch(url(path))).status).toBe(401);
    expect((await fetch(url(path), { headers: { authorization: 'Bearer nope' } })).status).toBe(401);
    expect((await fetch(url(path), { headers: { authorization: TOKEN } })).status).toBe(401);
  });

  it('POST drain/undrain: 401 without the token, and nothing changes', async () => {
    expect((await fetch(url('/nodes/n3/drain'), { method: 'POST' })).status).toBe(401);
    expect((await fetch(url('/nodes/n3/undrain'), { method: 'POST', headers: { authorization: 'Bearer x' } })).status).toBe(401);
    expect(mer.m.snapshot().byName.get('n3')?.state).toBe('active');
  });

  it('GET /readyz is 200 with the write target', async () => {
    const r = await fetch(url('/readyz'), { headers: auth });
    expect(r.status).toBe(200);
    expect(await r.json()).toMatchObject({ ready: true, writeTarget: expect.stringMatching(/^n[123]$/) });
  });

  it('GET /nodes is SHOW NODES as JSON', async () => {
    const r = await fetch(url('/nodes'), { headers: auth });
    expect(r.status).toBe(200);
    const body = (await r.json()) as { nodes: Array<Record<string, unknown>> };
    expect(body.nodes.map((n) => n.name)).toEqual(['n1', 'n2', 'n3']);
    expect(body.nodes[0]).toMatchObject({ role: 'master', state: 'active', up: true, region: 'r1' });
    expect(typeof body.nodes[0]?.rtt_ms).toBe('number');
  });

  it('POST /nodes/n3/drain drains (JSON result), /undrain readmits; unknown node → 404', async () => {
    const d = await fetch(url('/nodes/n3/drain?timeout=5s'), { method: 'POST', headers: auth });
    expect(d.status).toBe(200);
    expect(await d.json()).toMatchObject({ node: 'n3', outcome: 'drained', state: 'drained' });
    expect(mer.m.snapshot().byName.get('n3')?.state).toBe('drained');
    const nodes = (await (await fetch(url('/nodes'), { headers: auth })).json()) as { nodes: Array<Record<string, unknown>> };
    expect(nodes.nodes.find((n) => n.name === 'n3')).toMatchObject({ state: 'drained', drain: expect.stringMatching(/^drained in/) });
    const metrics = await (await fetch(url('/metrics'))).text();
    expect(metrics).toMatch(/meridian_node_draining\{node="n3"\} 1/);
    expect(metrics).toMatch(/meridian_node_state\{node="n3",state="drained"\} 1/);
    const u = await fetch(url('/nodes/n3/undrain'), { method: 'POST', headers: auth });
    expect(u.status).toBe(200);
    expect(await u.json()).toMatchObject({ node: 'n3', state: expect.stringMatching(/^(active|catching-up)$/) });
    await waitFor(() => mer.m.snapshot().byName.get('n3')?.state === 'active', { timeoutMs: 30_000, what: 'n3 readmitted' });
    expect((await fetch(url('/nodes/nope/drain'), { method: 'POST', headers: auth })).status).toBe(404);
    expect((await fetch(url('/nodes/n3/drain'), { method: 'GET', headers: auth })).status).toBe(405);
    expect((await fetch(url('/nodes/n3/drain?timeout=soon'), { method: 'POST', headers: auth })).status).toBe(400);
  });

  it('POST drain with wait=false answers 202 at once', async () => {
    const c = new pg.Client({ connectionString: mer.dsn('app') });
    await c.connect();
    await c.query('/* meridian: node=n2 */ begin');
    await c.query('select 1'); // the transaction takes its backend on n2 here (routing.defer_begin)
    try {
      const r = await fetch(url('/nodes/n2/drain'), {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({ wait: false, timeout: '10s' }),
      });
      expect(r.status).toBe(202);
      expect(await r.json()).toMatchObject({ node: 'n2', state: 'draining', outcome: 'started' });
    } finally {
      await c.query('commit');
      await c.end();
    }
    await waitFor(() => mer.m.snapshot().byName.get('n2')?.state === 'drained', { timeoutMs: 30_000, what: 'n2 drained' });
    await fetch(url('/nodes/n2/undrain'), { method: 'POST', headers: auth });
    await waitFor(() => mer.m.snapshot().byName.get('n2')?.state === 'active', { timeoutMs: 30_000, what: 'n2 readmitted' });
  });
});

describe('readiness follows the write target', () => {
  it('/readyz is 503 while no master can take writes', async () => {
    for (const n of ['n1', 'n2']) {
      const r = await fetch(url(`/nodes/${n}/drain?timeout=2s`), { method: 'POST', headers: auth });
      expect(r.status).toBe(200);
    }
    const refused = await fetch(url('/nodes/n3/drain'), { method: 'POST', headers: auth });
    expect(refused.status).toBe(409);
    expect(((await refused.json()) as { error: string }).error).toMatch(/last master of the cluster/);
    const forced = await fetch(url('/nodes/n3/drain?force=1&timeout=2s'), { method: 'POST', headers: auth });
    expect(forced.status).toBe(200);
    const r = await fetch(url('/readyz'), { headers: auth });
    expect(r.status).toBe(503);
    expect(await r.json()).toMatchObject({ ready: false, reason: expect.stringMatching(/no healthy master/) });
    for (const n of ['n1', 'n2', 'n3']) await fetch(url(`/nodes/${n}/undrain`), { method: 'POST', headers: auth });
    await waitFor(async () => (await fetch(url('/readyz'), { headers: auth })).status === 200, { timeoutMs: 30_000, what: 'ready again' });
  });
});

// Issue 18, item 5: Patroni as Meridian's topology source (cluster.patroni), against a real etcd and
// three PostgreSQL nodes run by Debian's Patroni (test/support/patroni.ts). Meridian takes roles from
// GET /cluster (confirmed by its probes): writes go to the leader, reads to replicas, and after a
// switchover done by Patroni alone, writes follow the new leader. A hostile Patroni API (a local HTTP
// server that answers garbage, a huge body, HTTP 500, or nothing at all) never crashes or hangs
// Meridian: it keeps the last known topology and counts the failed polls. And SWITCHOVER TO is
// refused without Patroni (0A000; HTTP 501) and for a node that does not exist (22023; HTTP 404) or is
// no member (55000).
// Without patroni or etcd the file is skipped with the reason printed, except in CI (CI=true).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uniqueName, waitFor } from '../support/cluster.js';
import { httpSwitchover } from '../../src/admin/http-actions.js';
import { findPatroni, startPatroniCluster, type PatroniCluster } from '../support/patroni.js';
import { adminRows, connectClient, meridianYaml, startMeridian, type RunningMeridian } from '../helpers/meridian.js';
import { freePort } from '../support/ports.js';
import { TEST_USERS } from '../support/cluster.js';
import { findNode } from '../../src/net/runtime-exec.js';
import pg from 'pg';

const found = findPatroni();
const missing = 'missing' in found ? found.missing : null;
const inCi = process.env.CI === 'true';
if (missing !== null && !inCi) console.warn(`[patroni-topology] SKIPPED: ${missing}`);

const HEALTH = 'interval: 200ms, timeout: 1s, rise: 1, fall: 2, fast_interval: 50ms';

function log(msg: string): void {
  console.log(`[patroni-topology] ${msg}`);
}

/** The SQLSTATE and message of an admin command that fails. */
async function adminError(port: number, sql: string): Promise<{ code: string; message: string }> {
  try {
    await adminRows(port, sql);
  } catch (e) {
    const err = e as { code?: string; message: string };
    return { code: err.code ?? '', message: err.message };
  }
  throw new Error(`${sql} did not fail`);
}

async function pollCounts(mer: RunningMeridian): Promise<Record<string, number>> {
  const metric = await mer.m.metrics.registry.getSingleMetric('meridian_patroni_polls_total')?.get();
  const out: Record<string, number> = {};
  for (const v of metric?.values ?? []) out[String(v.labels.result)] = v.value;
  return out;
}

/** The port of the server that ran a write, and of one that ran a read, through Meridian. */
async function writeAndReadPorts(mer: RunningMeridian, table: string): Promise<{ write: number; read: number }> {
  const c = await connectClient(mer);
  try {
    const w = await c.query<{ p: number }>(`INSERT INTO ${table} VALUES (default) RETURNING inet_server_port() AS p`);
    const r = await c.query<{ p: number }>('SELECT inet_server_port() AS p');
    return { write: w.rows[0]!.p, read: r.rows[0]!.p };
  } finally {
    await c.end();
  }
}

describe.skipIf(missing !== null && !inCi)('Patroni as the topology source (cluster.patroni)', () => {
  let cluster: PatroniCluster | undefined;
  const c = (): PatroniCluster => {
    if (!cluster) throw new Error('the Patroni cluster did not start');
    return cluster;
  };
  const table = uniqueName('patroni_topo');

  beforeAll(async () => {
    if (missing !== null) throw new Error(`CI=true and Patroni's prerequisites are missing: ${missing}`);
    cluster = await startPatroniCluster({ nodes: 3 });
    await cluster.exec(`CREATE TABLE ${table}(id serial PRIMARY KEY); GRANT ALL ON ${table}, ${table}_id_seq TO app`);
  }, 240_000);

  afterAll(async () => {
    await cluster?.stop();
  }, 120_000);

  const patroniYaml = (urls: string[], extra = 'interval: 250ms, timeout: 1s') => `  patroni: { urls: [${urls.join(', ')}], ${extra} }`;

  it('follows the roles in GET /cluster: writes go to the leader, reads to a replica; after a Patroni switchover, writes follow the new leader', async () => {
    const mer = await startMeridian(c(), { health: HEALTH, clusterYaml: patroniYaml(c().nodes.map((n) => n.restApiUrl)) });
    try {
      const leader = await c().waitForLeader();
      await waitFor(async () => (await adminRows(mer.port, 'SHOW NODES')).every((r) => r.patroni !== null), {
        timeoutMs: 10_000,
        what: 'Patroni facts in SHOW NODES',
      });
      const rows = await adminRows(mer.port, 'SHOW NODES');
      log(`SHOW NODES: ${rows.map((r) => `${r.name}=${r.role} [${r.patroni}]`).join(', ')}`);
      expect(rows.map((r) => [r.name, r.role])).toEqual(c().nodes.map((n) => [n.name, n.name === leader.name ? 'master' : 'replica']));
      expect(rows.find((r) => r.name === leader.name)?.patroni).toBe('leader running');
      expect(rows.every((r) => r.writes_held === null)).toBe(true);
      const before = await writeAndReadPorts(mer, table);
      expect(before.write).toBe(leader.port);
      expect(before.read).not.toBe(leader.port);

      const to = c().nodes.find((n) => n.name !== leader.name)!;
      const sw = await c().switchover(to.name);
      const t0 = performance.now();
      const after = await waitFor(
        async () => {
          const p = await writeAndReadPorts(mer, table).catch(() => null);
          return p !== null && p.write === to.port ? p : false;
        },
        { timeoutMs: 30_000, intervalMs: 100, what: `writes on ${to.name} through Meridian` },
      );
      log(
        `Patroni switchover ${sw.from} -> ${sw.to} in ${sw.ms} ms; Meridian wrote on ${to.name} ${Math.round(performance.now() - t0)} ms after Patroni's answer`,
      );
      expect(after.write).toBe(to.port);
      const polls = await pollCounts(mer);
      expect(polls.ok ?? 0).toBeGreaterThan(0);
    } finally {
      await mer.stop();
    }
  }, 60_000);

  it('a hostile Patroni API (garbage, a huge body, HTTP 500, a hang, a stalled body): Meridian keeps the last topology, serves, counts the polls, never hangs', async () => {
    let mode: 'proxy' | 'garbage' | 'huge' | 'error' | 'hang' | 'stall' = 'proxy';
    const real = c().nodes[0]!.restApiUrl;
    const hung: ServerResponse[] = [];
    const server: Server = createServer((req, res) => {
      res.on('error', () => {});
      switch (mode) {
        case 'proxy':
          void fetch(`${real}${req.url ?? '/'}`, { signal: AbortSignal.timeout(2000) })
            .then(async (r) => res.writeHead(r.status, { 'content-type': 'application/json' }).end(await r.text()))
            .catch(() => res.writeHead(502).end());
          return;
        case 'garbage':
          res.writeHead(200, { 'content-type': 'application/json' }).end('{"members": [{"name": 7, "role": null}], "\u0000');
          return;
        case 'huge': {
          res.writeHead(200, { 'content-type': 'application/json' });
          const chunk = Buffer.alloc(256 * 1024, 0x20);
          let sent = 0;
          const more = (): void => {
            while (sent < 40 && res.write(chunk)) sent++;
            if (sent < 40) res.once('drain', more);
            else res.end();
          };
          more();
          return;
        }
        case 'error':
          res.writeHead(500).end('internal error');
          return;
        case 'hang':
          hung.push(res); // headers never come
          return;
        case 'stall':
          res.writeHead(200, { 'content-type': 'application/json' });
          res.write('{"members": ['); // and the rest never comes
          hung.push(res);
          return;
      }
    });
    server.on('connection', (s) => s.on('error', () => {}));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    // the previous test's switchover: the old leader rejoins as a replica first
    const leader = await c().waitStreaming({ timeoutMs: 60_000 });
    const mer = await startMeridian(c(), { health: HEALTH, clusterYaml: patroniYaml([url], 'interval: 100ms, timeout: 300ms') });
    try {
      const roles = async () => (await adminRows(mer.port, 'SHOW NODES')).map((r) => `${String(r.name)}=${String(r.role)}`).join(',');
      const settled = c()
        .nodes.map((n) => `${n.name}=${n.name === leader.name ? 'master' : 'replica'}`)
        .join(',');
      await waitFor(async () => (await roles()) === settled, { timeoutMs: 15_000, what: () => `roles ${settled} in SHOW NODES` });
      const known = await roles();
      for (const m of ['garbage', 'huge', 'error', 'hang', 'stall'] as const) {
        const before = await pollCounts(mer);
        mode = m;
        const t0 = performance.now();
        const failedSince = async (): Promise<number> => {
          const now = await pollCounts(mer);
          return (now.invalid ?? 0) - (before.invalid ?? 0) + (now.unreachable ?? 0) - (before.unreachable ?? 0);
        };
        // a few polls' worth, each bounded by the 300 ms timeout
        await waitFor(async () => (await failedSince()) >= 3, { timeoutMs: 10_000, intervalMs: 50, what: `3 failed polls (${m})` });
        const t1 = performance.now();
        const ports = await writeAndReadPorts(mer, table);
        const queryMs = Math.round(performance.now() - t1);
        const failed = await failedSince();
        log(
          `${m}: ${failed} failed polls in ${Math.round(t1 - t0)} ms (${mer.m.health.patroni?.lastError}); a write and a read took ${queryMs} ms; roles ${await roles()}`,
        );
        expect(failed, `${m}: failed polls counted`).toBeGreaterThanOrEqual(3);
        expect(mer.m.health.patroni?.lastError).toBeTruthy();
        expect(ports.write).toBe(leader.port);
        expect(ports.read).not.toBe(leader.port);
        expect(await roles()).toBe(known);
        for (const r of hung.splice(0)) r.destroy();
      }
      const invalid = (await pollCounts(mer)).invalid ?? 0;
      expect(invalid).toBeGreaterThan(0);
      // Patroni answers again: so does Meridian's view
      mode = 'proxy';
      await waitFor(() => mer.m.health.patroni?.lastError === null, { timeoutMs: 5_000, what: 'the Patroni view to come back' });
    } finally {
      for (const r of hung.splice(0)) r.destroy();
      await mer.stop();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  }, 60_000);

  it('SWITCHOVER TO: 0A000 without cluster.patroni, 22023 for an unknown node, 55000 for a node Patroni does not run, 55000 for the leader itself', async () => {
    const leader = await c().waitForLeader();
    const plain = await startMeridian(c(), { health: HEALTH });
    try {
      const e = await adminError(plain.port, 'SWITCHOVER TO n2');
      log(`without Patroni: ${e.code} ${e.message}`);
      expect(e.code).toBe('0A000');
      expect(e.message).toContain('cluster.patroni');
      // POST /nodes/n2/switchover, the HTTP API's SWITCHOVER TO
      expect((await httpSwitchover(plain.m.admin.switchovers, 'n2', '', new URLSearchParams())).status).toBe(501);
    } finally {
      await plain.stop();
    }
    // n9 is configured in Meridian but not a Patroni member (its address is the leader's: it just must not be matched by name)
    const nodes = [
      ...c().nodes.map((n, i) => ({ name: n.name, host: n.host, port: n.port, region: `r${i + 1}` })),
      { name: 'n9', host: '127.0.0.2', port: 1, region: 'r9' },
    ];
    const mer = await startMeridian(c(), { health: HEALTH, nodes, clusterYaml: patroniYaml(c().nodes.map((n) => n.restApiUrl)) });
    try {
      const unknown = await adminError(mer.port, 'SWITCHOVER TO nowhere');
      expect(unknown.code).toBe('22023');
      expect(unknown.message).toBe('SWITCHOVER TO: unknown node "nowhere" (nodes: n1, n2, n3, n9)');
      expect(await httpSwitchover(mer.m.admin.switchovers, 'nowhere', '', new URLSearchParams())).toMatchObject({ status: 404 });
      expect(await httpSwitchover(mer.m.admin.switchovers, 'n2', '{"timeout": "soon"}', new URLSearchParams())).toMatchObject({ status: 400 });
      const stranger = await adminError(mer.port, 'SWITCHOVER TO n9');
      expect(stranger.code).toBe('55000');
      expect(stranger.message).toContain('not a member of the Patroni cluster');
      const self = await adminError(mer.port, `SWITCHOVER TO ${leader.name}`);
      expect(self.code).toBe('55000');
      expect(self.message).toContain('already the primary');
      const usage = await adminError(mer.port, 'SWITCHOVER n2');
      expect(usage.code).toBe('22023');
      log(`unknown: ${unknown.message}; stranger: ${stranger.message}; self: ${self.message}`);
      // nothing was held by the refused commands
      expect(mer.m.health.snapshot.writesHeld).toBeNull();
    } finally {
      await mer.stop();
    }
  }, 60_000);

  it('workers: 2: the primary reads Patroni and every worker routes by its view (writes follow a switchover); SWITCHOVER TO is 0A000 there', async () => {
    const leader = await c().waitStreaming({ timeoutMs: 60_000 });
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'meridian-patroni-workers-'));
    const file = join(dir, 'meridian.yaml');
    const yaml = meridianYaml(c(), { health: HEALTH, clusterYaml: patroniYaml(c().nodes.map((n) => n.restApiUrl)) }).replace('port: 0 }', `port: ${port} }`);
    writeFileSync(file, `workers: 2\n${yaml}`);
    // as test/integration/workers.test.ts: the instance on Bun when vitest runs on Bun, else on Node.js
    const isBun = typeof (globalThis as { Bun?: unknown }).Bun !== 'undefined';
    const [cmd, ...args] = isBun ? ['node_modules/.bin/bun', 'src/cli.ts'] : [findNode() ?? 'node', '--import', 'tsx', 'src/cli.ts'];
    const child: ChildProcess = spawn(cmd!, [...args, '--config', file], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    const writePort = async (): Promise<number> => {
      const cl = new pg.Client({ host: '127.0.0.1', port, user: 'app', password: TEST_USERS.app.password, database: 'app', connectionTimeoutMillis: 5_000 });
      cl.on('error', () => {});
      await cl.connect();
      try {
        return (await cl.query<{ p: number }>(`INSERT INTO ${table} VALUES (default) RETURNING inet_server_port() AS p`)).rows[0]!.p;
      } finally {
        await cl.end();
      }
    };
    try {
      await waitFor(async () => (await adminRows(port, 'SHOW NODES').catch(() => [])).filter((r) => r.patroni !== null && r.role !== 'unknown').length === 3, {
        timeoutMs: 60_000,
        intervalMs: 200,
        what: () => `SHOW NODES with Patroni's roles from the workers' instance\n${stderr}`,
      });
      // several connections: they land on both workers
      for (let i = 0; i < 6; i++) expect(await writePort()).toBe(leader.port);
      const refused = await adminError(port, 'SWITCHOVER TO n2');
      expect(refused.code).toBe('0A000');
      expect(refused.message).toContain('workers > 1');
      const to = c().nodes.find((n) => n.name !== leader.name)!;
      await c().switchover(to.name);
      const t0 = performance.now();
      await waitFor(
        async () => {
          for (let i = 0; i < 4; i++) if ((await writePort().catch(() => 0)) !== to.port) return false;
          return true;
        },
        { timeoutMs: 30_000, intervalMs: 100, what: `writes on ${to.name} through every worker` },
      );
      log(`workers: 2: writes on the new leader ${to.name} through both workers ${Math.round(performance.now() - t0)} ms after Patroni's answer`);
    } finally {
      child.kill('SIGTERM');
      await Promise.race([new Promise((r) => child.once('exit', r)), new Promise((r) => setTimeout(r, 10_000))]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});

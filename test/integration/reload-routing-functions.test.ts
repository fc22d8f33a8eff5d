// Issue 16, bug 2: routing.write_functions, routing.read_functions and routing.catalog_refresh are
// runtime settings, yet the classifier's function policy and the catalog's refresh timer were built
// once at start. RELOAD now applies them: a function call routes by the reloaded lists on the next
// request (asserted by the node that served it), and the catalog is re-read at the new interval
// (a function created behind Meridian's back becomes known within it).

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sharedCluster, uniqueName, waitFor, type PhysicalCluster } from '../support/cluster.js';
import { adminRows, meridianYaml, startMeridian, type RunningMeridian } from '../helpers/meridian.js';

let cluster: PhysicalCluster;
let mer: RunningMeridian;
let configPath: string;
const clients: pg.Client[] = [];
const fn = uniqueName('rlfn');

const ROUTING = 'lag_tolerance: 1s, max_read_lag: 10s, write_wait: 3s';
const nodeOf = (port: number) => cluster.nodes.find((n) => n.port === Number(port))?.name ?? `port ${port}`;

function writeConfig(routing: string): void {
  writeFileSync(configPath, meridianYaml(cluster, { kind: 'physical', extraYaml: `routing: { ${ROUTING}, ${routing} }` }));
}

const admin = (sql: string) => adminRows(mer.port, sql);

async function connect(): Promise<pg.Client> {
  const c = new pg.Client(mer.dsn());
  c.on('error', () => {});
  await c.connect();
  clients.push(c);
  return c;
}

async function servedBy(c: pg.Client, sql: string): Promise<string> {
  const r = await c.query(sql);
  return nodeOf(r.rows[0].p);
}

beforeAll(async () => {
  cluster = await sharedCluster('physical');
  // Volatile: a write by the catalog, unless routing.read_functions says otherwise.
  await cluster.exec(`create function ${fn}() returns int language sql volatile as 'select 1'`);
  await cluster.waitReplayed(60_000);
  configPath = join(mkdtempSync(join(tmpdir(), 'meridian-reload-fn-')), 'meridian.yaml');
  writeConfig('write_functions: [abs], catalog_refresh: 1h');
  mer = await startMeridian(cluster, { kind: 'physical', configPath, extraYaml: `routing: { ${ROUTING}, write_functions: [abs], catalog_refresh: 1h }` });
  await waitFor(() => mer.m.health.snapshot.nodes.every((n) => n.isUp && n.lagMs !== null), { timeoutMs: 60_000, what: 'every node probed with a lag' });
});

afterAll(async () => {
  for (const c of clients) await c.end().catch(() => {});
  await mer?.stop();
  await cluster?.exec(`drop function if exists ${fn}()`).catch(() => {});
});

describe('RELOAD of the function lists', () => {
  it('write_functions and read_functions: a call routes by the reloaded lists on the next request', async () => {
    const c = await connect();
    await waitFor(() => mer.m.catalog.lookup.isLive || undefined, { timeoutMs: 20_000, what: 'the catalog loaded' });
    expect(await servedBy(c, 'select abs(-1) as a, inet_server_port() as p')).toBe('primary');
    expect(await servedBy(c, `select ${fn}() as a, inet_server_port() as p`)).toBe('primary');
    expect(await servedBy(c, 'select 1 as a, inet_server_port() as p')).toMatch(/^s[12]$/);

    writeConfig(`read_functions: [${fn}], catalog_refresh: 1h`);
    const rows = await admin('RELOAD');
    const result = new Map(rows.map((r) => [r.key, r.result]));
    expect(result.get('routing.write_functions')).toBe('applied');
    expect(result.get('routing.read_functions')).toBe('applied');
    const abs = await servedBy(c, 'select abs(-1) as a, inet_server_port() as p');
    const own = await servedBy(c, `select ${fn}() as a, inet_server_port() as p`);
    console.log(`after RELOAD: abs() served by ${abs}, ${fn}() served by ${own}`);
    expect(abs).toMatch(/^s[12]$/);
    expect(own).toMatch(/^s[12]$/);
  });
});

describe('RELOAD of catalog_refresh', () => {
  it('the catalog is re-read at the reloaded interval', async () => {
    const c = await connect();
    await c.query('select 1');
    await waitFor(() => mer.m.catalog.lookup.isLive || undefined, { timeoutMs: 20_000, what: 'the catalog loaded' });
    const late = uniqueName('rlfn_late');
    // Created behind Meridian's back: only a periodic refresh can learn about it.
    await cluster.exec(`create function ${late}() returns int language sql stable as 'select 2'`);
    try {
      writeConfig(`read_functions: [${fn}], catalog_refresh: 1s`);
      await admin('RELOAD');
      const t0 = Date.now();
      const known = await waitFor(() => mer.m.catalog.lookup.volatility(late) ?? undefined, {
        timeoutMs: 8_000,
        what: `${late} in the catalog within the 1s refresh`,
      }).catch(() => null);
      console.log(`catalog_refresh 1h → 1s by RELOAD: new function known after ${known === null ? 'never (8 s)' : `${Date.now() - t0} ms`}`);
      expect(known).toBe('stable');
    } finally {
      await cluster.exec(`drop function if exists ${late}()`).catch(() => {});
    }
  });
});

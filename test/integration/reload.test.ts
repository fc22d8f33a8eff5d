// Issue 6 acceptance: hot reload through the admin console against a real 3-node pglogical
// cluster. A bad file (broken YAML, or a value the schema refuses) keeps the running config,
// the error reaches the admin reply, and client traffic never stops; a good file applies its
// runtime settings, says which need a restart, re-matches residency on each session's next
// request, and drains a removed node before removing it.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { sharedCluster, waitFor, type PglogicalCluster } from '../support/cluster.js';
import { adminRows, meridianYaml, startMeridian, type RunningMeridian, type StartOptions } from '../helpers/meridian.js';

let cluster: PglogicalCluster;
let mer: RunningMeridian;
let configPath: string;
const base: StartOptions = { extraYaml: 'drain: { timeout: 10s }\nrouting: { readmit_max_lag: 5s }' };

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

function writeConfig(opts: StartOptions): void {
  writeFileSync(configPath, meridianYaml(cluster, { ...base, ...opts, extraYaml: `${base.extraYaml}\n${opts.extraYaml ?? ''}` }));
}

const admin = (sql: string) => adminRows(mer.port, sql);

async function configValue(key: string): Promise<unknown> {
  return (await admin('SHOW CONFIG')).find((r) => r.key === key)?.value;
}

/** Runs queries back to back until stopped; counts successes and keeps every error. */
function traffic(): { readonly ok: number; stop(): Promise<{ ok: number; errors: string[] }> } {
  let running = true;
  const errors: string[] = [];
  let ok = 0;
  const loop = (async () => {
    const c = new pg.Client({ connectionString: mer.dsn('app') });
    await c.connect();
    while (running) {
      try {
        await c.query('select 1');
        await c.query('begin');
        await c.query('select count(*) from accounts');
        await c.query('commit');
        ok++;
      } catch (e) {
        errors.push((e as Error).message);
      }
    }
    await c.end();
  })();
  return {
    get ok() {
      return ok;
    },
    async stop() {
      running = false;
      await loop;
      return { ok, errors };
    },
  };
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
  configPath = join(mkdtempSync(join(tmpdir(), 'meridian-reload-')), 'meridian.yaml');
  writeConfig({});
  mer = await startMeridian(cluster, { ...base, configPath });
  await settled(mer.m);
});

// Tests change node state; start each from a settled topology.
beforeEach(async () => {
  await settled(mer.m);
});

afterAll(async () => {
  await mer?.stop();
});

describe('RELOAD with a bad file', () => {
  it('keeps the running config, reports the error, and traffic keeps flowing', async () => {
    const load = traffic();
    let result: { ok: number; errors: string[] };
    try {
      await waitFor(() => load.ok >= 2, { timeoutMs: 30_000, what: 'traffic running before the reload' });
      writeFileSync(configPath, 'listen: { host: 127.0.0.1, port: 0\npool: [unclosed\n');
      await expect(admin('RELOAD')).rejects.toMatchObject({
        code: '55000',
        message: expect.stringMatching(/^reload failed; the running configuration is unchanged: [\s\S]*invalid YAML/),
      });
      writeConfig({ pool: 'mode: transaction, size: -3' });
      await expect(admin('RELOAD')).rejects.toMatchObject({ message: expect.stringMatching(/pool\.size/) });
      const after = load.ok;
      await waitFor(() => load.ok >= after + 3, { timeoutMs: 30_000, what: 'traffic still running after the failed reloads' });
    } finally {
      result = await load.stop();
    }
    const { ok, errors } = result;
    expect(errors).toEqual([]);
    expect(ok).toBeGreaterThanOrEqual(5);
    expect(await configValue('pool.size')).toBe('10');
    const failed = (await mer.m.metrics.reloads.get()).values.find((v) => v.labels.result === 'failed')?.value;
    expect(failed).toBeGreaterThanOrEqual(2);
  });
});

describe('RELOAD with a good file', () => {
  it('applies runtime settings, lists restart-only ones, and re-matches residency on the next request', async () => {
    const tenant = new pg.Client({ connectionString: mer.dsn('app'), options: '-c meridian.tenant=eu1' } as pg.ClientConfig);
    await tenant.connect();
    writeConfig({
      pool: 'mode: transaction, size: 7, queue_timeout: 5s',
      extraYaml: 'residency:\n  - { name: eu-tenant, match: { tenant: eu1 }, regions: [r2] }',
    });
    const rows = await admin('RELOAD');
    const result = new Map(rows.map((r) => [r.key, r.result]));
    expect(result.get('pool.size')).toBe('applied');
    expect([...result.keys()].some((k) => String(k).startsWith('residency'))).toBe(true);
    expect(await configValue('pool.size')).toBe('7');
    const port2 = cluster.node('n2').port;
    for (let i = 0; i < 5; i++) {
      const r = await tenant.query<{ port: number }>('select inet_server_port() as port');
      expect(r.rows[0]?.port).toBe(port2);
    }
    await tenant.end();

    // A restart-only change is reported, not applied.
    const text = meridianYaml(cluster, { ...base, pool: 'mode: session, size: 7' });
    writeFileSync(configPath, text);
    const r2 = new Map((await admin('RELOAD')).map((r) => [r.key, r.result]));
    expect(r2.get('pool.mode')).toBe('needs restart (not applied)');
    expect(await configValue('pool.mode')).toBe('transaction');
  });

  it('drains a removed node before removing it', async () => {
    writeConfig({});
    await admin('RELOAD');
    const holder = new pg.Client({ connectionString: mer.dsn('app') });
    await holder.connect();
    await holder.query('/* meridian: node=n3 */ begin');
    await holder.query('select 1'); // the transaction takes its backend on n3 here (routing.defer_begin)
    const nodes = cluster.nodes.filter((n) => n.name !== 'n3').map((n, i) => ({ name: n.name, host: n.host, port: n.port, region: `r${i + 1}` }));
    writeConfig({ nodes });
    const reload = admin('RELOAD');
    await new Promise((r) => setTimeout(r, 500));
    // still draining: the transaction on n3 holds it
    expect(mer.m.snapshot().byName.get('n3')?.state).toBe('draining');
    const port3 = cluster.node('n3').port;
    const c = new pg.Client({ connectionString: mer.dsn('app') });
    await c.connect();
    for (let i = 0; i < 10; i++) {
      const r = await c.query<{ port: number }>('select inet_server_port() as port');
      expect(r.rows[0]?.port).not.toBe(port3);
    }
    await holder.query('commit');
    const rows = await reload;
    expect(rows).toContainEqual({ key: 'cluster.nodes[n3]', result: 'drained, then removed' });
    expect(mer.m.snapshot().nodes.map((n) => n.name)).toEqual(['n1', 'n2']);
    expect((await admin('SHOW NODES')).map((n) => n.name)).toEqual(['n1', 'n2']);
    await c.query('select 1');
    await c.end();
    await holder.end();
    // and back
    writeConfig({});
    await admin('RELOAD');
    expect(mer.m.snapshot().nodes.map((n) => n.name)).toEqual(['n1', 'n2', 'n3']);
  });
});

// Issue 14, finding 4: a reload that removes a user used to leave its pools behind; the next
// connect for them (the min_idle top-up timer, a waiting request, a session's next request) read
// the missing user and threw a TypeError out of a timer or callback. Now the user's sessions end
// with FATAL 57P01, its pools are shut and dropped, and nothing throws. A user whose backend
// credentials change keeps its sessions, but its idle backends are recycled: nothing keeps serving
// under credentials the config no longer has.

import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/load-config.js';
import { sleep, startSingleNode, TEST_USERS, waitFor, type SingleCluster } from '../support/cluster.js';
import { meridianYaml, startMeridian, type RunningMeridian, type StartOptions } from '../helpers/meridian.js';

let cluster: SingleCluster;
let mer: RunningMeridian;
const escaped: unknown[] = [];
const onEscape = (e: unknown): void => {
  escaped.push(e);
};
const opts: StartOptions = { pool: 'mode: transaction, size: 4, min_idle: 2, queue_timeout: 3s' };

beforeAll(async () => {
  process.on('uncaughtException', onEscape);
  process.on('unhandledRejection', onEscape);
  cluster = await startSingleNode();
  mer = await startMeridian(cluster, opts);
}, 120_000);

afterAll(async () => {
  process.off('uncaughtException', onEscape);
  process.off('unhandledRejection', onEscape);
  await mer?.stop();
  await cluster?.stop();
});

/** The running config's YAML with md5user's line rewritten (null: removed). */
function reloadWithMd5user(line: string | null): void {
  const yaml = meridianYaml(cluster, opts);
  const original = `  - { name: md5user, password: "${TEST_USERS.md5user.password}", auth: md5 }\n`;
  expect(yaml).toContain(original);
  const r = mer.m.applyConfig(parseConfigText(yaml.replace(original, line === null ? '' : `${line}\n`), 'test.yaml'));
  expect(r.ok).toBe(true);
}

async function md5Backends(): Promise<number> {
  const [r] = await cluster.nodes[0]!.query<{ n: number }>(
    `select count(*)::int as n from pg_stat_activity where usename = 'md5user' and backend_type = 'client backend'`,
  );
  return r!.n;
}

function md5Pools(): number {
  return [...mer.m.pools.allPools()].filter((p) => p.user === 'md5user').length;
}

async function connect(user: 'md5user' | 'app'): Promise<pg.Client> {
  const c = new pg.Client(mer.dsn(user));
  c.on('error', () => {});
  await c.connect();
  return c;
}

describe('reload and the pools of its users', () => {
  it('regression: removing a user with min_idle > 0 and an open session throws nothing; its sessions end with 57P01 and its pools go', async () => {
    const idle = await connect('md5user');
    const inTx = await connect('md5user');
    const other = await connect('app');
    await idle.query('select 1');
    await inTx.query('begin');
    await inTx.query('select 1');
    await waitFor(async () => (await md5Backends()) >= 2, { timeoutMs: 10_000, what: 'min_idle backends for md5user' });
    const t0 = Date.now();
    reloadWithMd5user(null);
    // The node drops the idle backends (a restart, its idle timeout): min_idle wants new ones for
    // the removed user at the next janitor tick — where the TypeError used to come from.
    await cluster.nodes[0]!.query(`select pg_terminate_backend(pid) from pg_stat_activity where usename = 'md5user' and state = 'idle'`);
    await sleep(2500);
    const errors = await Promise.all(
      [idle, inTx].map((c) =>
        c.query({ text: 'select 1', query_timeout: 10_000 } as pg.QueryConfig).then(
          () => 'no error',
          (e: { code?: string; message: string }) => e.code ?? e.message,
        ),
      ),
    );
    console.log(
      `removed user: sessions ended with ${errors.join(', ')}; ${escaped.length} escaped exceptions${escaped.length > 0 ? ` (first: ${String(escaped[0])})` : ''}; ${Date.now() - t0} ms`,
    );
    expect(escaped).toEqual([]);
    for (const e of errors)
      expect(['57P01', 'Connection terminated unexpectedly', 'Client has encountered a connection error and is not queryable']).toContain(e);
    expect(md5Pools()).toBe(0);
    await waitFor(async () => (await md5Backends()) === 0, { timeoutMs: 10_000, what: "md5user's backends closed" });
    // The other user's traffic is untouched; the removed one cannot log in again.
    expect((await other.query('select 1 as x')).rows[0].x).toBe(1);
    await expect(connect('md5user')).rejects.toThrow(/password authentication failed/);
    await other.end();
    await Promise.all([idle, inTx].map((c) => c.end().catch(() => {})));
    // Back again: it works as before.
    reloadWithMd5user(`  - { name: md5user, password: "${TEST_USERS.md5user.password}", auth: md5 }`);
    const again = await connect('md5user');
    expect((await again.query('select 1 as x')).rows[0].x).toBe(1);
    await again.end();
    expect(escaped).toEqual([]);
  }, 60_000);

  it('a changed backend password recycles the idle backends: the next request logs in with the new one', async () => {
    const c = await connect('md5user');
    await c.query('select 1');
    await waitFor(async () => (await md5Backends()) >= 2, { timeoutMs: 10_000, what: 'min_idle backends for md5user' });
    // Clients still log in with md5-secret; Meridian now logs in to the node with a wrong password.
    reloadWithMd5user(`  - { name: md5user, password: "${TEST_USERS.md5user.password}", auth: md5, backend_password: not-the-password }`);
    const err = await c.query('select 1').then(
      () => null,
      (e: { code?: string }) => e.code ?? 'error',
    );
    console.log(`backend password changed: next request ${err === null ? 'succeeded on an old backend' : `failed with ${err}`}`);
    expect(err).toBe('28P01');
    await c.end().catch(() => {});
    reloadWithMd5user(`  - { name: md5user, password: "${TEST_USERS.md5user.password}", auth: md5 }`);
    const d = await connect('md5user');
    expect((await d.query('select 1 as x')).rows[0].x).toBe(1);
    await d.end();
    expect(escaped).toEqual([]);
  }, 60_000);
});

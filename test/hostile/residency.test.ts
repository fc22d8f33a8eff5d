// Issue 14, finding 11: residency that truly fails closed, attacked by clients that choose their
// own tenant, application_name and omissions, on the shared 3-node pglogical cluster (n1 eu-west,
// n2 eu-central, n3 us-east). Every assertion names the node that served (inet_server_port):
// - a meridian.tenant claim outside the user's users[].tenants is refused at login (28000), and a
//   burst of such claims is refused quickly while a real client keeps working (figure printed);
// - a tenant whose CIDR rule also allows another region reaches only the regions both allow;
// - with residency.require_match, a session that leaves out meridian.tenant and matches no rule
//   is refused at login (57M01);
// - a reload that narrows residency closes a session in a transaction on a now-forbidden node with
//   57M01 (its transaction rolled back), while an idle one simply routes under the new rule; in
//   session pooling, a session keeping a backend on a now-forbidden node is closed too.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RESIDENCY_SQLSTATE } from '../../src/errors.js';
import { sharedCluster, TEST_USERS, type PglogicalCluster } from '../support/cluster.js';
import { ADMIN_PASSWORD, meridianYaml, startMeridian, type RunningMeridian, type StartOptions } from '../helpers/meridian.js';

let cluster: PglogicalCluster;
let mer: RunningMeridian;
let configPath: string;
const idBase = 7_100_000 + Math.floor(Math.random() * 100_000) * 10;

function nodes(): NonNullable<StartOptions['nodes']> {
  const regions = ['eu-west', 'eu-central', 'us-east'];
  return cluster.nodes.slice(0, 3).map((n, i) => ({ name: n.name, host: n.host, port: n.port, region: regions[i] }));
}

/**
 * The config under attack: app may claim only eu1, md5user no tenant at all (bind_tenants is on
 * because a user lists tenants). `officeRegions` is what a reload narrows.
 */
function writeConfig(officeRegions: string, file = configPath, pool?: string): void {
  const yaml = meridianYaml(cluster, {
    nodes: nodes(),
    ...(pool === undefined ? {} : { pool }),
    extraYaml: `routing: { write_wait: 300ms }
residency:
  require_match: true
  rules:
    - { name: eu-tenant, match: { tenant: eu1 }, regions: [eu-west, eu-central] }
    - { name: office, match: { user: app, cidr: 127.0.0.0/8 }, regions: [${officeRegions}] }
    - { name: reporting, match: { user: md5user }, regions: [us-east] }`,
  }).replace('{ name: app, password: "app-secret", auth: scram-sha-256 }', '{ name: app, password: "app-secret", auth: scram-sha-256, tenants: [eu1] }');
  if (!yaml.includes('tenants: [eu1]')) throw new Error('test config: app user line not found');
  writeFileSync(file, yaml);
}

function reload(target = mer): void {
  const r = target.m.reload();
  if (!r.ok) throw new Error(`reload failed: ${r.message}`);
}

function client(user: 'app' | 'md5user' | 'plainuser', tenant?: string, target = mer): pg.Client {
  const c = new pg.Client({
    host: '127.0.0.1',
    port: target.port,
    user,
    password: TEST_USERS[user].password,
    database: 'app',
    ...(tenant === undefined ? {} : { options: `-c meridian.tenant=${tenant}` }),
  });
  c.on('error', () => {});
  return c;
}

async function loginError(c: pg.Client): Promise<{ code?: string; message: string } | null> {
  return c.connect().then(
    () => null,
    (e: { code?: string; message: string }) => e,
  );
}

async function servedBy(c: pg.Client, sql = 'select inet_server_port() as port'): Promise<string> {
  const r = await c.query<{ port: number }>(sql);
  const n = cluster.nodes.find((x) => x.port === r.rows[0]?.port);
  return n?.name ?? `port ${r.rows[0]?.port}`;
}

async function denials(reason: string): Promise<number> {
  return (await mer.m.metrics.residencyDenials.get()).values.find((v) => v.labels.reason === reason)?.value ?? 0;
}

beforeAll(async () => {
  cluster = await sharedCluster('pglogical');
  configPath = join(mkdtempSync(join(tmpdir(), 'meridian-residency-')), 'meridian.yaml');
  // Started plain, then reloaded into the config under test (the file is what later reloads edit).
  mer = await startMeridian(cluster, { nodes: nodes(), configPath });
  writeConfig('eu-west, us-east');
  reload();
}, 240_000);

afterAll(async () => {
  await mer?.stop();
});

describe('residency against hostile clients', () => {
  it("refuses tenant claims outside the user's tenants at login with 28000 (a burst, while a real client works)", async () => {
    for (const [user, tenant] of [
      ['app', 'us1'],
      ['app', ''],
      ['md5user', 'eu1'],
      ['plainuser', 'eu1'],
    ] as const) {
      const c = client(user, tenant);
      const err = await loginError(c);
      expect(err, `${user} claiming "${tenant}"`).toMatchObject({ code: '28000', message: expect.stringContaining('may not claim tenant') });
      await c.end().catch(() => {});
    }
    const good = client('app', 'eu1');
    await good.connect();
    const before = await denials('tenant-claim');
    const attempts = 60;
    const started = performance.now();
    let refused = 0;
    let goodQueries = 0;
    const real = (async () => {
      while (performance.now() - started < 20_000 && refused < attempts) {
        expect(['n1', 'n2']).toContain(await servedBy(good));
        goodQueries++;
      }
    })();
    for (let i = 0; i < attempts; i += 6) {
      const batch = Array.from({ length: 6 }, (_, k) => client(k % 2 === 0 ? 'app' : 'md5user', `stolen-${i + k}`));
      const errs = await Promise.all(batch.map(loginError));
      refused += errs.filter((e) => e?.code === '28000').length;
      await Promise.all(batch.map((c) => c.end().catch(() => {})));
    }
    const ms = performance.now() - started;
    await real;
    await good.end();
    console.log(
      `residency: ${refused}/${attempts} foreign tenant claims refused (28000) in ${ms.toFixed(0)} ms ` +
        `(${(ms / attempts).toFixed(1)} ms each, 6 at a time); a real tenant ran ${goodQueries} queries meanwhile, all on EU nodes`,
    );
    expect(refused).toBe(attempts);
    expect(goodQueries).toBeGreaterThan(0);
    expect((await denials('tenant-claim')) - before).toBe(attempts);
  }, 60_000);

  it('a tenant inside an allowed CIDR cannot reach another region through the CIDR rule', async () => {
    // eu1 allows eu-west and eu-central; the office CIDR rule allows eu-west and us-east: only
    // eu-west (n1) is allowed by both. "Most specific wins" used to give it the office's us-east.
    const c = client('app', 'eu1');
    await c.connect();
    for (let i = 0; i < 5; i++) expect(await servedBy(c)).toBe('n1');
    expect(await servedBy(c, `insert into accounts(id, region, balance) values (${idBase}, 'eu', 0) returning inet_server_port() as port`)).toBe('n1');
    for (const node of ['n2', 'n3']) {
      await expect(c.query(`/* meridian: node=${node} */ select 1`), node).rejects.toMatchObject({ code: RESIDENCY_SQLSTATE });
    }
    expect(await servedBy(c)).toBe('n1'); // refusals are errors, the session goes on
    await c.end();
    // Without a tenant claim the same user gets only its office rule: it may use n3.
    const office = client('app');
    await office.connect();
    expect(await servedBy(office, '/* meridian: node=n3 */ select inet_server_port() as port')).toBe('n3');
    await office.end();
  });

  it('with require_match, leaving out meridian.tenant (no rule matches) is refused at login with 57M01', async () => {
    const c = client('plainuser');
    const before = await denials('no-rule');
    expect(await loginError(c)).toMatchObject({ code: RESIDENCY_SQLSTATE, message: expect.stringContaining('require_match') });
    await c.end().catch(() => {});
    expect((await denials('no-rule')) - before).toBe(1);
    // md5user matches its own rule, so it may log in (and is kept to us-east).
    const rep = client('md5user');
    await rep.connect();
    expect(await servedBy(rep)).toBe('n3');
    await rep.end();
  });

  it('a reload that narrows residency closes a session in a transaction on a forbidden node (57M01) and reroutes an idle one', async () => {
    const inTx = client('app');
    await inTx.connect();
    const closedWith: Array<{ code?: string; message: string }> = [];
    inTx.on('error', (e: Error & { code?: string }) => closedWith.push(e));
    const idle = client('app');
    await idle.connect();
    const id = idBase + 1;
    await inTx.query('begin');
    expect(
      await servedBy(inTx, `/* meridian: node=n3 */ insert into accounts(id, region, balance) values (${id}, 'us', 0) returning inet_server_port() as port`),
    ).toBe('n3');
    expect(await servedBy(idle, '/* meridian: node=n3 */ select inet_server_port() as port')).toBe('n3');

    const before = await denials('reload');
    writeConfig('eu-west');
    reload();

    // The transaction's session got a FATAL 57M01 and was closed; its write never committed.
    const next = await inTx.query('select 1').then(
      () => null,
      (e: { code?: string; message: string }) => e,
    );
    expect([...closedWith, next].find((e) => e?.code === RESIDENCY_SQLSTATE)).toMatchObject({
      message: expect.stringContaining('no longer allows node "n3"'),
    });
    expect(await cluster.node('n3').query('select 1 from accounts where id = $1', [id])).toEqual([]);
    expect((await denials('reload')) - before).toBe(1);
    // The idle session stays, and routes under the new rule: eu-west only.
    for (let i = 0; i < 5; i++) expect(await servedBy(idle)).toBe('n1');
    await expect(idle.query('/* meridian: node=n3 */ select 1')).rejects.toMatchObject({ code: RESIDENCY_SQLSTATE });
    expect(await servedBy(idle)).toBe('n1');
    await idle.end();
    await inTx.end().catch(() => {});
  });

  it('SHOW RESIDENCY lists the rules, the combination a live session matched, and require_match', async () => {
    const c = client('app', 'eu1');
    await c.connect();
    const admin = new pg.Client({ host: '127.0.0.1', port: mer.port, user: 'admin', password: ADMIN_PASSWORD, database: 'meridian' });
    await admin.connect();
    const rows = (await admin.query('SHOW RESIDENCY')).rows as Array<Record<string, unknown>>;
    const sid = ((await admin.query('SHOW SESSIONS')).rows as Array<Record<string, unknown>>).find((r) => r.tenant === 'eu1');
    expect(sid?.residency).toBe('eu-tenant+office');
    const explain = new Map(
      ((await admin.query(`EXPLAIN ROUTE FOR SESSION ${String(sid?.id)} select 1`)).rows as Array<{ field: string; value: string }>).map((r) => [
        r.field,
        r.value,
      ]),
    );
    expect(explain.get('residency')).toBe('eu-tenant+office (regions eu-west)');
    expect(explain.get('node')).toBe('n1');
    await admin.end();
    // The admin session's own identity claiming a tenant its user may not claim: EXPLAIN says so.
    const probe = new pg.Client({
      host: '127.0.0.1',
      port: mer.port,
      user: 'admin',
      password: ADMIN_PASSWORD,
      database: 'meridian',
      options: '-c meridian.tenant=eu1',
    });
    await probe.connect();
    const own = new Map(((await probe.query('EXPLAIN ROUTE select 1')).rows as Array<{ field: string; value: string }>).map((r) => [r.field, r.value]));
    await probe.end();
    expect(own.get('residency')).toBe('eu-tenant (regions eu-west, eu-central)');
    expect(own.get('login')).toMatch(/^refused \(28000\): user "admin" may not claim tenant "eu1"/);
    await c.end();
    expect(rows.map((r) => r.rule)).toEqual(['eu-tenant', 'office', 'reporting', 'eu-tenant+office', '*']);
    expect(rows.find((r) => r.rule === 'eu-tenant+office')).toMatchObject({
      match: 'all of: eu-tenant, office',
      regions: 'eu-west',
      nodes: 'n1',
      sessions: '1',
    });
    expect(rows.at(-1)).toMatchObject({ match: '(no rule matches)', status: 'refused at login (require_match)' });
  });
});

describe('residency reload with pool.mode session', () => {
  let sess: RunningMeridian;
  let sessPath: string;

  beforeAll(async () => {
    sessPath = join(mkdtempSync(join(tmpdir(), 'meridian-residency-session-')), 'meridian.yaml');
    sess = await startMeridian(cluster, { nodes: nodes(), configPath: sessPath, pool: 'mode: session, size: 5' });
    writeConfig('eu-west, us-east', sessPath, 'mode: session, size: 5');
    reload(sess);
  }, 120_000);

  afterAll(async () => {
    await sess?.stop();
  });

  it('closes a session that keeps a backend on a now-forbidden node (57M01); one that used only allowed nodes stays', async () => {
    const kept = client('app', undefined, sess);
    const closedWith: Array<{ code?: string; message: string }> = [];
    kept.on('error', (e: Error & { code?: string }) => closedWith.push(e));
    await kept.connect();
    expect(await servedBy(kept, '/* meridian: node=n3 */ select inet_server_port() as port')).toBe('n3');
    expect(await servedBy(kept, '/* meridian: node=n1 */ select inet_server_port() as port')).toBe('n1'); // idle on n3 now
    // Session pooling keeps the backend a login opens (on the nearest master): from eu-west, that is
    // n1. Without a region the login could land on n3 (RTTs are alike on loopback), and a session
    // holding n3 is rightly closed by the narrowing.
    const euOnly = new pg.Client({
      host: '127.0.0.1',
      port: sess.port,
      user: 'app',
      password: TEST_USERS.app.password,
      database: 'app',
      options: '-c meridian.region=eu-west',
    });
    euOnly.on('error', () => {});
    await euOnly.connect();
    expect(await servedBy(euOnly, '/* meridian: node=n1 */ select inet_server_port() as port')).toBe('n1');
    const pid = (euOnly as unknown as { processID: number }).processID;
    const held = [...sess.m.sessions.values()].find((x) => x.cancelPid === pid)?.sessionBackends;
    expect([...(held?.keys() ?? [])], 'nodes the eu-only session holds').toEqual(['n1']);

    writeConfig('eu-west', sessPath, 'mode: session, size: 5');
    reload(sess);

    const next = await kept.query('select 1').then(
      () => null,
      (e: { code?: string; message: string }) => e,
    );
    expect([...closedWith, next].find((e) => e?.code === RESIDENCY_SQLSTATE)).toMatchObject({ message: expect.stringContaining('node "n3"') });
    for (let i = 0; i < 3; i++) expect(await servedBy(euOnly)).toBe('n1');
    await euOnly.end();
    await kept.end().catch(() => {});
  });
});

// Issue 15, items 1, 2, 3 and 9, against one real server in both pooling modes: settings a client
// sends in its StartupMessage (libpq's PGDATESTYLE / PGTZ / PGCLIENTENCODING, `options=-c …`) apply
// on every backend it uses, and the ParameterStatus it got says so, on later transactions too on a
// backend another session with other settings used before; session pooling hands a backend to
// the next client reset (no prepared statement of the last one visible); settings are brought to a
// backend in an order that works after SET ROLE / SET SESSION AUTHORIZATION; the BackendKeyData
// pid of a session-pooled client is its backend's.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import net from 'node:net';
import pg from 'pg';
import { sharedCluster, TEST_USERS, type Cluster } from '../support/cluster.js';
import { run, runPsql } from '../support/proc.js';
import { PYTHON, pythonModules } from '../drivers/run-driver.js';
import { startMeridian, type RunningMeridian } from '../helpers/meridian.js';

type Mode = 'transaction' | 'session';

const LIBPQ_ENV = { PGDATESTYLE: 'Postgres, MDY', PGTZ: 'PST8PDT', PGCLIENTENCODING: 'LATIN1' };

/** A pg client whose ParameterStatus messages are recorded, last value per name. */
async function connectWatched(mer: RunningMeridian, opts: Partial<pg.ClientConfig> = {}): Promise<{ c: pg.Client; status: Map<string, string>; pid: number }> {
  const c = new pg.Client({ connectionString: mer.dsn(), ...opts });
  c.on('error', () => {});
  const status = new Map<string, string>();
  let pid = 0;
  const conn = (
    c as unknown as { connection: { on(ev: string, f: (m: { parameterName?: string; parameterValue?: string; processID?: number }) => void): void } }
  ).connection;
  conn.on('parameterStatus', (m) => status.set(m.parameterName!, m.parameterValue!));
  conn.on('backendKeyData', (m) => {
    pid = m.processID!;
  });
  await c.connect();
  return { c, status, pid };
}

async function show(c: pg.Client): Promise<{ ds: string; tz: string; enc: string }> {
  const r = await c.query(`select current_setting('DateStyle') as ds, current_setting('TimeZone') as tz, current_setting('client_encoding') as enc`);
  return r.rows[0];
}

describe.each<Mode>(['transaction', 'session'])('startup parameters, %s pooling', (mode) => {
  let cluster: Cluster;
  let mer: RunningMeridian;

  beforeAll(async () => {
    cluster = await sharedCluster('single');
    // One backend: every session uses the one another used before.
    mer = await startMeridian(cluster, { pool: `mode: ${mode}, size: 1, queue_timeout: 20s` });
  });

  afterAll(async () => {
    await mer?.stop();
  });

  it("psql with PGDATESTYLE, PGTZ, PGCLIENTENCODING gets them after another session's, and RESET, RESET ALL, DISCARD ALL return to them", async () => {
    // Another session leaves the backend with other values of the same settings.
    const other = new pg.Client({ connectionString: mer.dsn(), options: '-c datestyle=SQL,DMY -c timezone=UTC' });
    await other.connect();
    await other.query(`set client_encoding = 'UTF8'`);
    await other.end();
    const r = await runPsql({
      port: mer.port,
      user: 'app',
      password: TEST_USERS.app.password,
      env: LIBPQ_ENV,
      command: [
        'show datestyle',
        'show timezone',
        'show client_encoding',
        '\\echo :ENCODING',
        `set timezone = 'UTC'`,
        'reset timezone',
        'show timezone',
        `set datestyle = 'ISO, YMD'`,
        `set timezone = 'UTC'`,
        'reset all',
        'show datestyle',
        'show timezone',
        `set timezone = 'UTC'`,
        'discard all',
        'show timezone',
        'show client_encoding',
      ],
    });
    const lines = r.stdout.trim().split('\n');
    console.log(`psql (${mode}): ${JSON.stringify(lines)}`);
    expect(lines).toEqual(['Postgres, MDY', 'PST8PDT', 'LATIN1', 'LATIN1', 'PST8PDT', 'Postgres, MDY', 'PST8PDT', 'PST8PDT', 'LATIN1']);
  });

  it('psycopg (libpq) with PGDATESTYLE, PGTZ, PGCLIENTENCODING: ParameterStatus and SHOW agree, on every transaction', async (ctx) => {
    const missing = await pythonModules('psycopg');
    if (missing !== null) return ctx.skip();
    const script = `
import json, sys, psycopg
out = []
with psycopg.connect(sys.argv[1], autocommit=True) as c:
    ps = [c.info.parameter_status(k) for k in ('DateStyle', 'TimeZone', 'client_encoding')]
    for i in range(3):
        with c.transaction():
            out.append(c.execute("select current_setting('DateStyle'), current_setting('TimeZone'), current_setting('client_encoding')").fetchone())
        c.execute("set timezone = 'UTC'")
        c.execute("reset timezone")
print(json.dumps({'status': ps, 'shown': out}))
`;
    const r = await run(PYTHON, ['-c', script, mer.dsn()], { env: { ...process.env, ...LIBPQ_ENV }, timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(0);
    const got = JSON.parse(r.stdout.trim().split('\n').pop()!) as { status: string[]; shown: string[][] };
    console.log(`psycopg (${mode}): ${JSON.stringify(got)}`);
    expect(got.status).toEqual(['Postgres, MDY', 'PST8PDT', 'LATIN1']);
    for (const row of got.shown) expect(row).toEqual(['Postgres, MDY', 'PST8PDT', 'LATIN1']);
  });

  it('a startup value the server refuses refuses the login, as a direct server does', async () => {
    const c = new pg.Client({ connectionString: mer.dsn(), options: '-c datestyle=bogus' });
    c.on('error', () => {});
    const err = await c.connect().then(
      () => null,
      (e: { code?: string; message: string }) => e,
    );
    await c.end().catch(() => {});
    console.log(`datestyle=bogus (${mode}): ${err?.code} ${err?.message}`);
    expect(err?.code).toBe('22023');
    expect(err?.message).toBe('invalid value for parameter "DateStyle": "bogus"');
  });

  it('pg with startup GUCs: ParameterStatus as a direct server reports them, and every transaction has them', async () => {
    // pg sends client_encoding=UTF8 itself, which wins over `options` (as on a direct server).
    const opts = { options: '-c datestyle=postgres,mdy -c timezone=PST8PDT -c intervalstyle=iso_8601 -c client_encoding=LATIN1' } as Partial<pg.ClientConfig>;
    const direct = new pg.Client({ connectionString: cluster.nodes[0]!.connectionString('app'), ...opts });
    const directStatus = new Map<string, string>();
    (direct as unknown as { connection: { on(e: string, f: (m: { parameterName: string; parameterValue: string }) => void): void } }).connection.on(
      'parameterStatus',
      (m) => directStatus.set(m.parameterName, m.parameterValue),
    );
    await direct.connect();
    await direct.end();
    const a = await connectWatched(mer, opts);
    const b = await connectWatched(mer, { options: '-c datestyle=ISO,DMY -c timezone=UTC' });
    try {
      const seen: string[] = [];
      for (let i = 0; i < 4; i++) {
        // The other session takes the backend in between: its settings must not leak back.
        if (mode === 'transaction') expect(await show(b.c)).toEqual({ ds: 'ISO, DMY', tz: 'UTC', enc: 'UTF8' });
        seen.push(JSON.stringify(await show(a.c)));
      }
      console.log(
        `pg (${mode}): DateStyle=${a.status.get('DateStyle')} TimeZone=${a.status.get('TimeZone')} client_encoding=${a.status.get('client_encoding')}; show: ${seen[0]}`,
      );
      for (const s of seen) expect(JSON.parse(s)).toEqual({ ds: 'Postgres, MDY', tz: 'PST8PDT', enc: 'UTF8' });
      for (const k of ['DateStyle', 'TimeZone', 'client_encoding', 'IntervalStyle', 'integer_datetimes', 'standard_conforming_strings']) {
        expect(a.status.get(k), k).toBe(directStatus.get(k));
      }
    } finally {
      await a.c.end();
      await b.c.end();
    }
  });
});

describe('session pooling hands a backend to the next client reset', () => {
  let mer: RunningMeridian;

  beforeAll(async () => {
    mer = await startMeridian(await sharedCluster('single'), { pool: 'mode: session, size: 1, queue_timeout: 20s' });
  });

  afterAll(async () => {
    await mer?.stop();
  });

  it('a new client sees no prepared statement or setting of the last one', async () => {
    const first = new pg.Client(mer.dsn());
    await first.connect();
    const pid1 = (await first.query('select pg_backend_pid() as pid')).rows[0].pid;
    await first.query(`prepare i15_q1 as select 1; set work_mem = '7MB'`);
    await first.query({ name: 'i15_named', text: 'select $1::int as v', values: [1] });
    await first.end();
    const next = new pg.Client(mer.dsn());
    await next.connect();
    try {
      const r = await next.query(`select pg_backend_pid() as pid, (select count(*) from pg_prepared_statements)::int as prepared,
        current_setting('work_mem') as wm`);
      console.log(`next client on the same backend (${r.rows[0].pid === pid1}): ${JSON.stringify(r.rows[0])}`);
      expect(r.rows[0].pid).toBe(pid1); // the same backend, reused
      expect(r.rows[0]).toMatchObject({ prepared: 0, wm: '4MB' });
    } finally {
      await next.end();
    }
  });
});

describe.each<Mode>(['transaction', 'session'])('settings brought back after a role change, %s pooling', (mode) => {
  let cluster: Cluster;
  let mer: RunningMeridian;
  const role = 'regress_i15_role';

  beforeAll(async () => {
    cluster = await sharedCluster('single');
    await cluster.nodes[0]!.query(`do $$ begin if not exists (select from pg_roles where rolname = '${role}') then create role ${role}; end if; end $$`);
    mer = await startMeridian(cluster, {
      pool: `mode: ${mode}, size: 2, queue_timeout: 20s`,
      usersYaml: '  - { name: postgres, auth: trust }',
    });
  });

  afterAll(async () => {
    await mer?.stop();
  });

  it('a superuser-only setting made before SET SESSION AUTHORIZATION / SET ROLE survives a request that failed', async () => {
    const c = new pg.Client(`postgres://postgres@127.0.0.1:${mer.port}/app`);
    c.on('error', () => {});
    await c.connect();
    try {
      await c.query(`set lo_compat_privileges = on`);
      await c.query(`set session authorization ${role}`);
      // A SET the server refuses: Meridian cannot know what the backend has now.
      await expect(c.query(`set work_mem = 'many'`)).rejects.toThrow(/invalid value/);
      const r = await c.query(`select current_user as u, session_user as su, current_setting('lo_compat_privileges') as lo`);
      await c.query(`reset session authorization`);
      await c.query(`set role ${role}`);
      await expect(c.query(`set work_mem = 'many'`)).rejects.toThrow(/invalid value/);
      const r2 = await c.query(`select current_user as u, session_user as su, current_setting('lo_compat_privileges') as lo`);
      console.log(`role change (${mode}): ${JSON.stringify(r.rows[0])} ${JSON.stringify(r2.rows[0])}`);
      expect(r.rows[0]).toEqual({ u: role, su: role, lo: 'on' });
      expect(r2.rows[0]).toEqual({ u: role, su: 'postgres', lo: 'on' });
    } finally {
      await c.end();
    }
  });
});

describe("the BackendKeyData pid in session pooling is the backend's", () => {
  let mer: RunningMeridian;

  beforeAll(async () => {
    mer = await startMeridian(await sharedCluster('single'), { pool: 'mode: session, size: 3, queue_timeout: 20s' });
  });

  afterAll(async () => {
    await mer?.stop();
  });

  /** Sends a CancelRequest for (pid, secret) to Meridian. */
  function cancel(pid: number, secret: number): Promise<void> {
    return new Promise((resolve) => {
      const sock = net.connect({ host: '127.0.0.1', port: mer.port }, () => {
        const buf = Buffer.alloc(16);
        buf.writeInt32BE(16, 0);
        buf.writeInt32BE(80877102, 4);
        buf.writeInt32BE(pid, 8);
        buf.writeInt32BE(secret, 12);
        sock.end(buf);
      });
      sock.on('error', () => resolve());
      sock.on('close', () => resolve());
    });
  }

  it('a session tells its own notifications by pid; cancel needs the secret', async () => {
    const c = new pg.Client(mer.dsn());
    c.on('error', () => {});
    let secret = 0;
    let keyPid = 0;
    (c as unknown as { connection: { on(e: string, f: (m: { processID: number; secretKey: number }) => void): void } }).connection.on('backendKeyData', (m) => {
      keyPid = m.processID;
      secret = m.secretKey;
    });
    await c.connect();
    try {
      const got = new Promise<pg.Notification>((resolve) => c.on('notification', resolve));
      await c.query('listen i15_chan');
      await c.query(`notify i15_chan, 'mine'`);
      const n = await got;
      const pid = (await c.query('select pg_backend_pid() as pid')).rows[0].pid;
      console.log(`BackendKeyData pid ${keyPid}, pg_backend_pid() ${pid}, notification from ${n.processId}`);
      expect(keyPid).toBe(pid);
      expect(n.processId).toBe(keyPid);
      // The real pid with a wrong secret cancels nothing; with the right one the query ends 57014.
      const slow = c.query('select pg_sleep(3)').then(
        () => 'done',
        (e: { code?: string }) => e.code ?? 'error',
      );
      await new Promise((r) => setTimeout(r, 300));
      await cancel(keyPid, secret ^ 1);
      await new Promise((r) => setTimeout(r, 300));
      await cancel(keyPid, secret);
      const t0 = Date.now();
      expect(await slow).toBe('57014');
      expect(Date.now() - t0).toBeLessThan(2500);
    } finally {
      await c.end();
    }
  });
});

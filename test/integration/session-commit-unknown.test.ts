// A transaction whose backend is lost after its COMMIT was sent (issue 18, item 3): whether it
// committed is unknown, so the client gets 08007 (transaction_resolution_unknown), never 08006 as
// if it had surely failed. The COMMIT is made slow by a deferred constraint trigger that sleeps;
// the backend is then killed (SIGKILL: no word from the server; the node restarts its processes):
// 08007. Ended by the server's FATAL 57P01 (pg_terminate_backend) before the COMMIT's answer, the
// COMMIT cannot have run (PostgreSQL acts on SIGTERM only where it checks for interrupts, never
// between the commit record and the answer): the client gets the server's 57P01 and nothing was
// committed. A node of its own.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { startSingleNode, waitFor, type Cluster } from '../support/cluster.js';
import { startMeridian, type RunningMeridian } from '../helpers/meridian.js';
import { activePid } from '../support/activity.js';

let cluster: Cluster;
let mer: RunningMeridian;

beforeAll(async () => {
  cluster = await startSingleNode();
  await cluster.exec(`
    create table slow_commit(id int);
    create function slow_commit_sleep() returns trigger language plpgsql as $$ begin perform pg_sleep(5); return null; end $$;
    create constraint trigger slow_commit_t after insert on slow_commit deferrable initially deferred
      for each row execute function slow_commit_sleep();
    grant all on slow_commit to public;`);
  mer = await startMeridian(cluster, { pool: 'mode: transaction, size: 5, queue_timeout: 5s' });
});

afterAll(async () => {
  await mer?.stop();
  await cluster?.stop();
});

/** The pid of the server backend running the slow COMMIT (its trigger's pg_sleep). */
const committingPid = (): Promise<number> => activePid(cluster.nodes[0]!, 'commit%', 'the COMMIT running');

async function commitLost(end: (pid: number) => Promise<void>): Promise<{ code: string | undefined; message: string }> {
  const c = new pg.Client(mer.dsn());
  c.on('error', () => {});
  await c.connect();
  try {
    await c.query('begin');
    await c.query('insert into slow_commit values (1)');
    const commit = c.query('commit').then(
      () => ({ code: 'committed', message: '' }),
      (e: { code?: string; message: string }) => ({ code: e.code, message: e.message }),
    );
    await end(await committingPid());
    return await commit;
  } finally {
    await c.end().catch(() => {});
  }
}

describe('the backend lost after COMMIT was sent', () => {
  it("ended by the server's FATAL before it answered the COMMIT (pg_terminate_backend): that COMMIT did not run, the client gets the server's 57P01", async () => {
    const count = async () => Number((await cluster.nodes[0]!.query<{ n: string }>('select count(*) n from slow_commit'))[0]!.n);
    const before = await count();
    const r = await commitLost(async (pid) => {
      await cluster.nodes[0]!.query('select pg_terminate_backend($1)', [pid]);
    });
    console.log(`[commit-unknown] terminated during COMMIT: ${r.code} ${r.message}`);
    expect(r.code).toBe('57P01');
    expect(await count()).toBe(before); // rolled back, as the client was told
  });

  it('cut without a word (SIGKILL of the backend): 08007, not 08006', async () => {
    const r = await commitLost(async (pid) => {
      process.kill(pid, 'SIGKILL');
    });
    console.log(`[commit-unknown] killed during COMMIT: ${r.code} ${r.message}`);
    expect(r.code).toBe('08007');
    // The node restarts its processes after a backend is killed; Meridian serves again.
    await waitFor(
      async () => {
        const c = new pg.Client(mer.dsn());
        c.on('error', () => {});
        try {
          await c.connect();
          await c.query('select 1');
          return true;
        } catch {
          return false;
        } finally {
          await c.end().catch(() => {});
        }
      },
      { timeoutMs: 30_000, what: 'Meridian serving again' },
    );
  });
});

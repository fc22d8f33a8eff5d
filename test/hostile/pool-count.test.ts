// Issue 14, finding 15: every (node, user, database) a client names used to get a pool that stayed
// forever, even for a database that does not exist, so a client looping over random database
// names grew Meridian's memory without bound. A pool that never connected is dropped when it
// empties, and pool.max_pools caps how many exist (beyond: 53300, no pool).

import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sharedCluster, type SingleCluster } from '../support/cluster.js';
import { startMeridian, type RunningMeridian } from '../helpers/meridian.js';

let cluster: SingleCluster;
let mer: RunningMeridian;
let capped: RunningMeridian;

beforeAll(async () => {
  cluster = await sharedCluster('single');
  mer = await startMeridian(cluster);
  capped = await startMeridian(cluster, { pool: 'mode: transaction, size: 2, max_pools: 1' });
}, 120_000);

afterAll(async () => {
  await mer?.stop();
  await capped?.stop();
});

function poolCount(m: RunningMeridian): number {
  return [...m.m.pools.allPools()].length;
}

/** Logs in and runs one query; the SQLSTATE of the failure, or 'ok'. */
async function attempt(m: RunningMeridian, database: string): Promise<string> {
  const c = new pg.Client({ connectionString: m.dsn('app', database), connectionTimeoutMillis: 10_000 });
  c.on('error', () => {});
  try {
    await c.connect();
    await c.query('select 1');
    return 'ok';
  } catch (e) {
    return (e as { code?: string }).code ?? (e as Error).message;
  } finally {
    await c.end().catch(() => {});
  }
}

describe('pools are bounded', () => {
  it('regression: 500 logins to databases that do not exist leave no pool behind', async () => {
    const before = poolCount(mer);
    const rss0 = process.memoryUsage().rss;
    const t0 = Date.now();
    const codes = new Map<string, number>();
    const N = 500;
    const CONCURRENCY = 20;
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < N) {
          const code = await attempt(mer, `no_such_db_${next++}`);
          codes.set(code, (codes.get(code) ?? 0) + 1);
        }
      }),
    );
    const ms = Date.now() - t0;
    const after = poolCount(mer);
    console.log(
      `${N} logins to missing databases in ${ms} ms (${JSON.stringify(Object.fromEntries(codes))}); pools ${before} → ${after}; RSS +${((process.memoryUsage().rss - rss0) / 1048576).toFixed(1)} MB`,
    );
    expect(codes.get('3D000')).toBe(N);
    expect(after).toBe(before);
    // The node is not blamed for a client's typo.
    expect(mer.m.health.snapshot.nodes.every((n) => n.isUp)).toBe(true);
    expect(await attempt(mer, 'app')).toBe('ok');
  }, 120_000);

  it('pool.max_pools: one more pool than allowed is refused with 53300, and the existing one serves', async () => {
    expect(await attempt(capped, 'app')).toBe('ok');
    expect(poolCount(capped)).toBe(1);
    const code = await attempt(capped, 'postgres');
    console.log(`max_pools 1: a second database got ${code}`);
    expect(code).toBe('53300');
    expect(poolCount(capped)).toBe(1);
    expect(await attempt(capped, 'app')).toBe('ok');
  }, 30_000);
});

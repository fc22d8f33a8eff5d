// PoolManager's bookkeeping without sockets: what a reload does to the pools of a removed user or
// of changed credentials, the pool.max_pools bound, and which connect failures reach the health
// hook. Nothing here opens a connection: every path tested fails (or refuses) before connecting.

import { describe, expect, it } from 'vitest';
import type { Backend } from '../../../src/backend/backend.js';
import { PoolManager, type PoolEvents } from '../../../src/backend/pool-manager.js';
import { PoolClosedError, type AcquireCallback } from '../../../src/backend/pool.js';
import { ConnectError } from '../../../src/backend/server-connect.js';
import type { MeridianConfig } from '../../../src/config/types.js';
import { load } from '../config/helpers.js';

const TWO_USERS = (extra = '', pool = '') =>
  load(`
pool: { size: 2${pool} }
users:
  - { name: app, password: s3cret-app }
  - { name: gone, password: s3cret-gone${extra} }
cluster:
  kind: physical
  nodes:
    - { name: n1, host: 127.0.0.1, port: 1, region: r1 }
`);

function manager(cfg: MeridianConfig): { pm: PoolManager; health: string[]; local: string[] } {
  const health: string[] = [];
  const local: string[] = [];
  const events: PoolEvents = {
    onConnectError: (node, err) => health.push(`${node}: ${err.message}`),
    onLocalConnectError: (node, err) => local.push(`${node}: ${err.message}`),
    onBackendClosed: () => {},
    onBackendOpened: () => {},
  };
  return { pm: new PoolManager(cfg, events), health, local };
}

/** Acquire's answer when it comes synchronously (refusals before any connect). */
function acquireNow(acquire: (cb: AcquireCallback) => void): { err: unknown; b: Backend | null } | null {
  let out: { err: unknown; b: Backend | null } | null = null;
  acquire((err, b) => {
    out = { err, b };
  });
  return out;
}

describe('PoolManager', () => {
  it('regression: a pool of a user a reload removed refuses with 57P01 instead of throwing a TypeError', () => {
    const { pm } = manager(TWO_USERS());
    const pool = pm.pool('n1', 'gone', 'db')!;
    pm.applyConfig(
      load(`
pool: { size: 2 }
users:
  - { name: app, password: s3cret-app }
cluster:
  kind: physical
  nodes:
    - { name: n1, host: 127.0.0.1, port: 1, region: r1 }
`),
    );
    expect(pool.isRemoved).toBe(true);
    expect([...pm.allPools()]).toEqual([]);
    expect(pm.pool('n1', 'gone', 'db')).toBeNull();
    const r = acquireNow((cb) => pool.acquire(1000, cb, 7));
    expect(r?.err).toBeInstanceOf(PoolClosedError);
    expect((r?.err as PoolClosedError).serverError.code).toBe('57P01');
    expect(() => pool.fill(2, Date.now())).not.toThrow(); // the min_idle top-up of a stale pool
    expect(pool.fill(2, Date.now())).toBe(0);
    expect(() => pm.sweep()).not.toThrow();
  });

  it("changed backend credentials bump the generation of that user's pools only", () => {
    const { pm } = manager(TWO_USERS());
    const app = pm.pool('n1', 'app', 'db')!;
    const gone = pm.pool('n1', 'gone', 'db')!;
    pm.applyConfig(TWO_USERS(', backend_password: other'));
    expect(gone.generation).toBe(1);
    expect(app.generation).toBe(0);
    pm.applyConfig(TWO_USERS(', backend_password: other'));
    expect(gone.generation).toBe(1); // unchanged config: nothing recycled
  });

  it('pool.max_pools: past the limit a stand-in refuses with 53300 and is not kept', () => {
    const { pm } = manager(TWO_USERS('', ', max_pools: 2'));
    pm.pool('n1', 'app', 'a');
    pm.pool('n1', 'app', 'b');
    const third = pm.pool('n1', 'app', 'c')!;
    expect([...pm.allPools()].length).toBe(2);
    const r = acquireNow((cb) => third.acquire(1000, cb));
    expect((r?.err as PoolClosedError).serverError.code).toBe('53300');
    expect((r?.err as Error).message).toMatch(/pool\.max_pools = 2/);
    expect(pm.pool('n1', 'app', 'a')).not.toBe(third);
  });

  it('a local connect failure (EMFILE …) is no health signal; a refused connect is', () => {
    const { pm, health, local } = manager(TWO_USERS());
    const hooks = (pm as unknown as { hooks: { onConnectError(node: string, err: ConnectError): void } }).hooks;
    hooks.onConnectError('n1', new ConnectError('connect EMFILE 127.0.0.1:1 - Local (undefined:undefined)', null, true));
    hooks.onConnectError('n1', new ConnectError('connect EADDRNOTAVAIL 127.0.0.1:1 - Local (0.0.0.0:0)', null, true));
    hooks.onConnectError('n1', new ConnectError('connect ECONNREFUSED 127.0.0.1:1', null, true));
    expect(local.length).toBe(2);
    expect(health).toEqual(['n1: connect ECONNREFUSED 127.0.0.1:1']);
  });
});

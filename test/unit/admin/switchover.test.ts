// Switchovers (SWITCHOVER TO) against a real TopologyStore, a real PatroniSource and a scripted
// Patroni REST API on port 0: writes are held from the start, the busy backends of the old primary
// are waited for, Patroni is asked with leader and candidate, and the hold is released whatever
// happens: the promotion seen, Patroni refusing (412), or the promotion not coming in time.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Switchovers } from '../../../src/admin/switchover.js';
import type { AdminHost } from '../../../src/admin/types.js';
import { MeridianError } from '../../../src/errors.js';
import { PatroniSource } from '../../../src/patroni/patroni-source.js';
import { TopologyStore } from '../../../src/topology/topology-store.js';

const servers: Server[] = [];
const sources: PatroniSource[] = [];
afterEach(async () => {
  for (const s of sources.splice(0)) await s.stop();
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

const NODES = ['n1', 'n2'].map((name, i) => ({ name, host: '127.0.0.1', port: 5501 + i, region: 'r', location: null, priority: 0 }));
const view = (leader: string) =>
  JSON.stringify({ members: NODES.map((n) => ({ name: n.name, role: n.name === leader ? 'leader' : 'replica', state: 'running', lag: 0 })) });

async function setup(answer: { status: number; text: string; promote: boolean }) {
  const store = new TopologyStore(NODES, { kind: 'physical' });
  const up = (n1: 'master' | 'replica', n2: 'master' | 'replica') =>
    store.applyProbes([
      { node: 'n1', isUp: true, role: n1, lagMs: 0, lastProbeAtMs: 1 },
      { node: 'n2', isUp: true, role: n2, lagMs: 0, lastProbeAtMs: 1 },
    ]);
  up('master', 'replica');
  let leader = 'n1';
  const posts: unknown[] = [];
  const heldAtPost: (string | null)[] = [];
  const srv = createServer((req, res) => {
    if (req.method === 'GET') return res.writeHead(200).end(view(leader));
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      posts.push(JSON.parse(body));
      heldAtPost.push(store.snapshot.writesHeld);
      if (answer.promote) {
        leader = 'n2';
        up('replica', 'master'); // the probes see it
      }
      res.writeHead(answer.status).end(answer.text);
    });
  });
  servers.push(srv);
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
  const source = new PatroniSource({ urls: [url], intervalMs: 60_000, timeoutMs: 1000, switchoverTimeoutMs: 1000 }, NODES, {
    setPatroniMembers: () => {},
    holdWrites: (src, reason) => store.holdWrites(src, reason),
  });
  sources.push(source);
  source.start();
  let busy = 2;
  const results: Record<string, number> = {};
  const host = {
    fleet: null,
    patroni: () => source,
    topology: store,
    logger: { child: () => ({ warn() {}, info() {} }) },
    pools: { activeBackends: (node: string) => (node === 'n1' ? busy : 0) },
    metrics: { switchovers: { inc: (l: { result: string }) => (results[l.result] = (results[l.result] ?? 0) + 1) } },
  } as unknown as AdminHost;
  return { store, posts, heldAtPost, switchovers: new Switchovers(host), results, finish: () => (busy = 0) };
}

describe('Switchovers', () => {
  it('holds writes, waits for the old primary’s busy backends, asks Patroni, follows the promotion, releases', async () => {
    const f = await setup({ status: 200, text: 'Successfully switched over to "n2"', promote: true });
    const done = f.switchovers.switchTo('n2', 5000);
    await new Promise((r) => setTimeout(r, 100));
    expect(f.store.snapshot.writesHeld).toBe('switchover to n2 under way (SWITCHOVER TO)');
    expect(f.posts).toEqual([]); // two transactions still run on n1
    f.finish();
    const r = await done;
    expect(r).toMatchObject({ node: 'n2', from: 'n1', outcome: 'done', left: 0 });
    expect(r.waitedMs).toBeGreaterThan(0);
    expect(f.posts).toEqual([{ leader: 'n1', candidate: 'n2' }]);
    expect(f.heldAtPost).toEqual(['switchover to n2 under way (SWITCHOVER TO)']);
    expect(f.store.snapshot.writesHeld).toBeNull();
    expect(f.results).toEqual({ done: 1 });
  });

  it('Patroni refuses (412): 55000 with its words, writes released, counted as failed', async () => {
    const f = await setup({ status: 412, text: 'candidate name does not match with sync_standby', promote: false });
    f.finish();
    const err = await f.switchovers.switchTo('n2', 2000).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MeridianError);
    expect((err as MeridianError).sqlstate).toBe('55000');
    expect((err as MeridianError).message).toContain('HTTP 412: candidate name does not match');
    expect(f.store.snapshot.writesHeld).toBeNull();
    expect(f.results).toEqual({ failed: 1 });
  });

  it('the promotion does not come within the timeout: 55000, writes released', async () => {
    const f = await setup({ status: 200, text: 'Successfully switched over to "n2"', promote: false });
    f.finish();
    const err = await f.switchovers.switchTo('n2', 300).catch((e: unknown) => e);
    expect((err as MeridianError).message).toContain('"n2" did not take writes within 300 ms');
    expect(f.store.snapshot.writesHeld).toBeNull();
  });

  it('one at a time; the running transactions past the timeout are left (counted) and Patroni asked anyway', async () => {
    const f = await setup({ status: 200, text: 'ok', promote: true });
    const first = f.switchovers.switchTo('n2', 200);
    const second = await f.switchovers.switchTo('n2', 200).catch((e: unknown) => e);
    expect((second as MeridianError).message).toBe('a switchover is already under way');
    const r = await first;
    expect(r.left).toBe(2);
    expect(f.posts).toHaveLength(1);
  });
});

// PatroniSource against in-process HTTP servers on port 0: the first URL that answers wins (a
// dead one is skipped, and the one that answered is tried first next time), a switchover in the
// view holds writes and a settled view releases them, an unreachable Patroni keeps the last view and
// releases a hold it had set, a hanging server costs one timeout; POST /switchover sends leader and candidate.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { PatroniMember } from '../../../src/patroni/cluster-view.js';
import { patroniRequest } from '../../../src/patroni/patroni-client.js';
import { PatroniSource } from '../../../src/patroni/patroni-source.js';

const servers: Server[] = [];
const hung: ServerResponse[] = [];
afterEach(async () => {
  for (const r of hung.splice(0)) r.destroy();
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ url: string; hits: string[] }> {
  const hits: string[] = [];
  const s = createServer((req, res) => {
    hits.push(`${req.method} ${req.url}`);
    handler(req, res);
  });
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(s.address() as AddressInfo).port}`, hits };
}

const NODES = [
  { name: 'n1', host: '127.0.0.1', port: 5501, region: 'r', location: null, priority: 0 },
  { name: 'n2', host: '127.0.0.1', port: 5502, region: 'r', location: null, priority: 0 },
];
const settled = JSON.stringify({
  members: [
    { name: 'n1', role: 'leader', state: 'running' },
    { name: 'n2', role: 'replica', state: 'running', lag: 0 },
  ],
});
const stopping = JSON.stringify({
  members: [
    { name: 'n1', role: 'leader', state: 'stopping' },
    { name: 'n2', role: 'replica', state: 'running', lag: 0 },
  ],
});

function sink() {
  const s = {
    members: null as ReadonlyMap<string, PatroniMember> | null,
    held: null as string | null,
    setPatroniMembers: (m: ReadonlyMap<string, PatroniMember> | null) => {
      s.members = m;
    },
    holdWrites: (_source: string, reason: string | null) => {
      s.held = reason;
      return true;
    },
  };
  return s;
}

/** A port nothing listens on (a server started and closed). */
async function deadUrl(): Promise<string> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return `http://127.0.0.1:${port}`;
}

describe('PatroniSource', () => {
  it('skips a dead URL, takes the view from the next, and asks that one first next time', async () => {
    const dead = await deadUrl();
    const live = await serve((_q, res) => res.writeHead(200).end(settled));
    const out = sink();
    const src = new PatroniSource({ urls: [dead, live.url], intervalMs: 60_000, timeoutMs: 1000, switchoverTimeoutMs: 1000 }, NODES, out);
    src.start();
    await src.pollNow();
    expect([...(out.members ?? new Map()).keys()]).toEqual(['n1', 'n2']);
    expect(src.memberOf('n1')?.role).toBe('leader');
    expect(src.lastError).toBeNull();
    await src.pollNow();
    expect(live.hits).toEqual(['GET /cluster', 'GET /cluster']);
    await src.stop();
  });

  it('holds writes while the leader is stopping, releases on a settled view; unreachable: last view kept, hold released', async () => {
    let body = settled;
    let up = true;
    const api = await serve((_q, res) => (up ? res.writeHead(200).end(body) : res.writeHead(503).end('no')));
    const out = sink();
    const src = new PatroniSource({ urls: [api.url], intervalMs: 60_000, timeoutMs: 1000, switchoverTimeoutMs: 1000 }, NODES, out);
    src.start();
    await src.pollNow();
    expect(out.held).toBeNull();
    body = stopping;
    await src.pollNow();
    expect(out.held).toBe('Patroni leader n1 is stopping');
    body = settled;
    await src.pollNow();
    expect(out.held).toBeNull();
    body = stopping;
    await src.pollNow();
    expect(out.held).not.toBeNull();
    up = false;
    await src.pollNow();
    expect(out.held).toBeNull();
    expect(src.lastError).toContain('HTTP 503');
    expect(src.view?.members.map((m) => m.name)).toEqual(['n1', 'n2']); // the last view stays
    await src.stop();
  });

  it('a switchover signal that outlasts switchover_timeout holds writes no longer (until the view settles and a new one comes)', async () => {
    let body = stopping;
    const api = await serve((_q, res) => res.writeHead(200).end(body));
    const out = sink();
    const src = new PatroniSource({ urls: [api.url], intervalMs: 60_000, timeoutMs: 1000, switchoverTimeoutMs: 100 }, NODES, out);
    src.start();
    await src.pollNow();
    expect(out.held).toBe('Patroni leader n1 is stopping');
    await new Promise((r) => setTimeout(r, 150));
    await src.pollNow();
    expect(out.held).toBeNull();
    body = settled;
    await src.pollNow();
    body = stopping;
    await src.pollNow();
    expect(out.held).toBe('Patroni leader n1 is stopping');
    await src.stop();
  });

  it('a server that never answers costs one timeout, not a hang', async () => {
    const api = await serve((_q, res) => {
      hung.push(res);
    });
    const t0 = performance.now();
    const r = await patroniRequest(`${api.url}/cluster`, 200);
    expect(r).toEqual({ ok: false, error: 'no answer within 200 ms' });
    expect(performance.now() - t0).toBeLessThan(2000);
  });

  it('POST /switchover sends the leader and the candidate', async () => {
    let got = '';
    const api = await serve((req, res) => {
      req.on('data', (d: Buffer) => (got += d.toString()));
      req.on('end', () => res.writeHead(200).end('Successfully switched over to "n2"'));
    });
    const src = new PatroniSource({ urls: [api.url], intervalMs: 60_000, timeoutMs: 1000, switchoverTimeoutMs: 1000 }, NODES, sink());
    const r = await src.switchover('n1', 'n2', 1000);
    expect(r).toEqual({ ok: true, status: 200, body: 'Successfully switched over to "n2"' });
    expect(JSON.parse(got)).toEqual({ leader: 'n1', candidate: 'n2' });
    expect(api.hits).toEqual(['POST /switchover']);
  });
});

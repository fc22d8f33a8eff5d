// Test support: the cluster broker. Runs in vitest's main process (global-setup.ts): a tiny HTTP
// server on 127.0.0.1 that starts each kind of shared cluster the first time a test file asks for
// it (POST /clusters/<kind>) and answers every later request with the same cluster's description.
// It owns the shared clusters' postmasters and stops them at the end of the run. Test workers talk
// to it through shared.ts.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Cluster, ClusterDescriptor, ClusterKind } from './types.js';

export const BROKER_ENV = 'MERIDIAN_TEST_BROKER';

export interface Broker {
  readonly url: string;
  close(): Promise<void>;
}

export function describeCluster(cluster: Cluster): ClusterDescriptor {
  return {
    kind: cluster.kind,
    nodes: cluster.nodes.map((n) => ({
      name: n.name,
      host: n.host,
      port: n.port,
      dataDir: n.dataDir,
      logFile: n.logFile,
      pid: 'pid' in n && typeof n.pid === 'number' ? n.pid : null,
    })),
  };
}

const KINDS: readonly ClusterKind[] = ['single', 'pglogical', 'physical'];

/** `start` creates a cluster of a kind (the local or docker provider); called at most once per kind unless it fails. */
export async function startBroker(start: (kind: ClusterKind) => Promise<Cluster>): Promise<Broker> {
  const clusters = new Map<ClusterKind, Promise<Cluster>>();
  const get = (kind: ClusterKind): Promise<Cluster> => {
    let p = clusters.get(kind);
    if (!p) {
      const started = performance.now();
      p = start(kind).then((c) => {
        if (process.env.MERIDIAN_TEST_VERBOSE) console.log(`shared ${kind} cluster up in ${Math.round(performance.now() - started)} ms`);
        return c;
      });
      // a failed start is not cached: the next file asking tries again (and gets its own error)
      p.catch(() => clusters.delete(kind));
      clusters.set(kind, p);
    }
    return p;
  };

  const server: Server = createServer((req, res) => {
    const m = /^\/clusters\/([a-z]+)$/.exec(req.url ?? '');
    const kind = KINDS.find((k) => k === m?.[1]);
    if (req.method !== 'POST' || !kind) {
      res.writeHead(404).end('unknown request');
      return;
    }
    get(kind).then(
      (c) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(describeCluster(c))),
      (e: unknown) => res.writeHead(500).end(e instanceof Error ? (e.stack ?? e.message) : String(e)),
    );
  });
  server.requestTimeout = 0; // a cluster start may take minutes on a loaded host
  server.headersTimeout = 0;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  server.unref();
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      const all = await Promise.allSettled([...clusters.values()]);
      await Promise.allSettled(all.map((r) => (r.status === 'fulfilled' ? r.value.stop() : undefined)));
      clusters.clear();
    },
  };
}

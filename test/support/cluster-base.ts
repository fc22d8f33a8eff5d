// Test support: what all clusters share (node lookup, exec, idempotent stop, the shared-cluster guard)
// and the single-node cluster. Kind-specific clusters: cluster-pglogical.ts, cluster-physical.ts.
import { rmSync } from 'node:fs';
import { trackDir, untrackDir } from './cleanup.js';
import { createNodeFromTemplate, LocalPgNode, SharedClusterError } from './pg-node.js';
import type { Cluster, ClusterKind, ClusterOptions, LocalClusterKind, PgNode, SingleCluster } from './types.js';
import { newClusterDir } from './workspace.js';

/** The table every cluster has (on every node for pglogical, where it is also replicated). */
export const ACCOUNTS_DDL = 'CREATE TABLE IF NOT EXISTS accounts(id bigint PRIMARY KEY, region text, balance numeric, updated_at timestamptz DEFAULT now())';

/**
 * Tables every fixture creates (and, for pglogical, adds to replication set 'default'). Not
 * meridian_heartbeat: provisioning it is the product's job (`meridian init-heartbeat`), and tests check that.
 */
export const FIXTURE_TABLES: ReadonlyArray<{ name: string; ddl: string }> = [{ name: 'accounts', ddl: ACCOUNTS_DDL }];

/** Creates the fixture tables on one node. */
export async function createFixtureTables(node: PgNode): Promise<void> {
  for (const t of FIXTURE_TABLES) await node.query(t.ddl);
}

export abstract class BaseCluster implements Cluster {
  abstract readonly kind: ClusterKind;
  private stopping: Promise<void> | undefined;

  constructor(
    readonly nodes: PgNode[],
    readonly isShared: boolean,
    private readonly teardown: () => Promise<void>,
  ) {}

  node(name: string): PgNode {
    const node = this.nodes.find((n) => n.name === name);
    if (!node) throw new Error(`no node ${name} in this ${this.kind} cluster (${this.nodes.map((n) => n.name).join(', ')})`);
    return node;
  }

  /** Nodes that take DDL and writes. */
  protected writableNodes(): PgNode[] {
    return this.nodes;
  }

  async exec(sql: string): Promise<void> {
    await Promise.all(this.writableNodes().map((n) => n.query(sql)));
  }

  stop(): Promise<void> {
    this.stopping ??= this.teardown();
    return this.stopping;
  }

  protected assertOwned(what: string): void {
    if (this.isShared) throw new SharedClusterError(what);
  }
}

export class SingleClusterImpl extends BaseCluster implements SingleCluster {
  readonly kind = 'single' as const;
}

/** Teardown of a cluster this process started: immediate stop of every node, then remove its dir. */
export function localTeardown(nodes: readonly LocalPgNode[], dir: string): () => Promise<void> {
  return async () => {
    await Promise.allSettled(nodes.map((n) => n.stop('immediate')));
    rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
    untrackDir(dir);
  };
}

/**
 * Creates a cluster dir and runs `build` in it; if build fails, stops whatever nodes it pushed to
 * `nodes` and removes the dir before rethrowing. The dir is also removed at process exit.
 */
export async function buildLocalCluster<C>(
  kind: LocalClusterKind,
  build: (dir: string, nodes: LocalPgNode[], teardown: () => Promise<void>) => Promise<C>,
): Promise<C> {
  const dir = newClusterDir(kind);
  trackDir(dir);
  const nodes: LocalPgNode[] = [];
  const teardown = localTeardown(nodes, dir);
  try {
    return await build(dir, nodes, teardown);
  } catch (e) {
    await teardown();
    throw e;
  }
}

/** Awaits all promises; pushes every fulfilled node (so a failure still tears them down), then rethrows. */
export async function settleNodes(nodes: LocalPgNode[], starting: Array<Promise<LocalPgNode>>): Promise<LocalPgNode[]> {
  const results = await Promise.allSettled(starting);
  const started: LocalPgNode[] = [];
  for (const r of results) if (r.status === 'fulfilled') started.push(r.value);
  nodes.push(...started);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  return started;
}

/** One PostgreSQL node (n1) with database app, the test roles and the fixture tables. */
export function startLocalSingleNode(opts: ClusterOptions = {}): Promise<SingleCluster> {
  return buildLocalCluster('single', async (dir, nodes, teardown) => {
    const node = await createNodeFromTemplate(dir, 'n1', opts.settings ?? {});
    nodes.push(node);
    await createFixtureTables(node);
    return new SingleClusterImpl(nodes, false, teardown);
  });
}

// Test support: opt-in testcontainers provider (MERIDIAN_TEST_DOCKER=1 and a reachable Docker engine).
// Only the single-node fixture comes from a container (image MERIDIAN_TEST_IMAGE, default
// postgres:15-bookworm) with the same database, roles and pg_hba as local nodes; replicated clusters
// stay local. testcontainers is imported lazily, so the default (local) path never loads it.
import { BaseCluster, FIXTURE_TABLES } from './cluster-base.js';
import { BasePgNode } from './pg-node.js';
import { BOOTSTRAP_SQL_APP, BOOTSTRAP_SQL_POSTGRES, hbaConf } from './test-users.js';
import type { SingleCluster } from './types.js';
import pg from 'pg';

type Started = import('testcontainers').StartedTestContainer;

let available: Promise<boolean> | undefined;

/** True when the docker provider is requested and an engine answers. */
export function dockerRequested(): Promise<boolean> {
  if (process.env.MERIDIAN_TEST_DOCKER !== '1') return Promise.resolve(false);
  available ??= import('testcontainers')
    .then((tc) => tc.getContainerRuntimeClient())
    .then(
      () => true,
      (e: unknown) => {
        console.warn(`MERIDIAN_TEST_DOCKER=1 but no container engine (${String(e)}): using local PostgreSQL`);
        return false;
      },
    );
  return available;
}

class ContainerPgNode extends BasePgNode {
  readonly dataDir = '';
  readonly logFile = '';
  private running = true;
  constructor(
    readonly name: string,
    readonly host: string,
    readonly port: number,
    private readonly container: Started,
  ) {
    super();
  }
  isRunning(): boolean {
    return this.running;
  }
  async stop(): Promise<void> {
    await this.endPool();
    if (this.running) await this.container.stop({ remove: true });
    this.running = false;
  }
  start(): Promise<void> {
    return Promise.reject(new Error('start() after stop() is not supported by the docker provider'));
  }
  promote(): Promise<void> {
    return Promise.reject(new Error('promote() is not supported by the docker provider'));
  }
}

class DockerSingleCluster extends BaseCluster implements SingleCluster {
  readonly kind = 'single' as const;
}

async function bootstrap(host: string, port: number, database: string, statements: readonly string[]): Promise<void> {
  const client = new pg.Client({ host, port, user: 'postgres', database });
  await client.connect();
  try {
    for (const sql of statements) await client.query(sql);
  } finally {
    await client.end();
  }
}

export async function startDockerSingleNode(): Promise<SingleCluster> {
  const { GenericContainer, Wait } = await import('testcontainers');
  const container = await new GenericContainer(process.env.MERIDIAN_TEST_IMAGE ?? 'postgres:15-bookworm')
    .withEnvironment({ POSTGRES_HOST_AUTH_METHOD: 'trust' })
    .withCommand(['postgres', '-c', 'fsync=off', '-c', 'full_page_writes=off', '-c', 'max_connections=100'])
    .withExposedPorts(5432)
    .withWaitStrategy(Wait.forLogMessage(/database system is ready to accept connections/, 2))
    .withStartupTimeout(120_000)
    .start();
  const host = container.getHost();
  const port = container.getMappedPort(5432);
  try {
    await bootstrap(host, port, 'postgres', BOOTSTRAP_SQL_POSTGRES);
    await bootstrap(host, port, 'app', BOOTSTRAP_SQL_APP);
    // clients reach the container from the bridge gateway, not 127.0.0.1
    await container.copyContentToContainer([{ content: hbaConf('0.0.0.0/0'), target: '/var/lib/postgresql/data/pg_hba.conf', mode: 0o644 }]);
    await bootstrap(host, port, 'app', ['SELECT pg_reload_conf()', ...FIXTURE_TABLES.map((t) => t.ddl)]);
  } catch (e) {
    await container.stop({ remove: true });
    throw e;
  }
  const node = new ContainerPgNode('n1', host, port, container);
  return new DockerSingleCluster([node], false, () => node.stop());
}

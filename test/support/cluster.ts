// Test support — the public entry point for real-PostgreSQL fixtures (see test/support/README.md).
//   startSingleNode / startActiveActive / startPrimaryStandby: a cluster of your own (destructive
//   tests: stop, promote, pause); always `await cluster.stop()` in afterAll.
//   sharedCluster(kind): the run's shared cluster of that kind, started on first use.
// Processes are started from the PostgreSQL binaries on this machine (PG_BIN, PATH,
// /usr/lib/postgresql/<highest>/bin); with MERIDIAN_TEST_DOCKER=1 and a Docker engine, single nodes
// come from testcontainers instead.
import { startLocalSingleNode } from './cluster-base.js';
import { startLocalActiveActive } from './cluster-pglogical.js';
import { startLocalPrimaryStandby } from './cluster-physical.js';
import { dockerRequested, startDockerSingleNode } from './docker.js';
import { sharedCluster as shared } from './shared.js';
import type {
  ActiveActiveOptions,
  Cluster,
  ClusterByKind,
  ClusterKind,
  ClusterOptions,
  PglogicalCluster,
  PhysicalCluster,
  PrimaryStandbyOptions,
  SingleCluster,
} from './types.js';

export type * from './types.js';
export { TEST_DATABASE, TEST_USERS, type TestUser, type TestUserName } from './test-users.js';
export { SharedClusterError } from './pg-node.js';
export { uniqueName, waitFor, sleep } from './wait.js';

/** One node `n1`: database app, the test roles, table accounts. */
export async function startSingleNode(opts: ClusterOptions = {}): Promise<SingleCluster> {
  if (!opts.settings && (await dockerRequested())) return startDockerSingleNode();
  return startLocalSingleNode(opts);
}

/** Active-active pglogical cluster n1…nN (default 3), full mesh, replicating `accounts`. */
export function startActiveActive(opts: ActiveActiveOptions = {}): Promise<PglogicalCluster> {
  return startLocalActiveActive(opts);
}

/** `primary` + hot standbys s1…sN (default 2) streaming through physical slots. */
export function startPrimaryStandby(opts: PrimaryStandbyOptions = {}): Promise<PhysicalCluster> {
  return startLocalPrimaryStandby(opts);
}

/** Starts a cluster of a kind with default options. */
export function startCluster(kind: ClusterKind): Promise<Cluster> {
  switch (kind) {
    case 'single':
      return startSingleNode();
    case 'pglogical':
      return startActiveActive();
    case 'physical':
      return startPrimaryStandby();
  }
}

/**
 * The test run's shared cluster of `kind` (default options), started on first use and reused by every
 * test file. Read-mostly: use uniqueName() for tables; never stop/promote/pause (those throw).
 */
export function sharedCluster<K extends ClusterKind>(kind: K): Promise<ClusterByKind[K]> {
  return shared(kind, startCluster);
}

// Issue 5 acceptance, Python drivers, through Meridian in transaction pooling on primary + 2
// standbys and on the 3-node pglogical cluster: psycopg 3 with prepare_threshold=0 (every
// statement server-prepared) and asyncpg (prepared statements, binary COPY in and out). The
// scripts (test/drivers/*.py, run with Debian's /usr/bin/python3) check every result and report
// which server port served each step; the assertions on nodes are checkObservations'.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sharedCluster, type Cluster } from '../support/cluster.js';
import type { RunningMeridian } from '../helpers/meridian.js';
import { pythonModules, runPython } from '../drivers/run-driver.js';
import { checkObservations, createWorkloadTables, startSessionMeridian } from '../drivers/workload.js';

type Kind = 'physical' | 'pglogical';

describe.each<Kind>(['physical', 'pglogical'])('Python drivers on %s', (kind) => {
  let cluster: Cluster;
  let mer: RunningMeridian;

  beforeAll(async () => {
    cluster = await sharedCluster(kind);
    mer = await startSessionMeridian(cluster, 'mode: transaction, size: 10, queue_timeout: 10s');
  });

  afterAll(async () => {
    await mer?.stop();
  });

  it('psycopg 3 (prepare_threshold=0): prepared reads/writes, transactions, search_path, TimeZone, temp table, failed tx', async () => {
    expect(await pythonModules('psycopg')).toBeNull();
    const { table, schema } = await createWorkloadTables(cluster);
    const report = await runPython('psycopg_workload.py', [mer.dsn(), table, schema]);
    console.log(`psycopg ${String(report.psycopg)} (libpq ${String(report.libpq)}): ${checkObservations(cluster, report.observations, `psycopg on ${kind}`)}`);
  }, 200_000);

  it('asyncpg: prepared statements, binary COPY both ways, transactions, settings, temp table, failed tx', async () => {
    expect(await pythonModules('asyncpg')).toBeNull();
    const { table, schema } = await createWorkloadTables(cluster);
    const report = await runPython('asyncpg_workload.py', [mer.dsn('md5user'), table, schema]);
    console.log(`asyncpg ${String(report.asyncpg)}: ${checkObservations(cluster, report.observations, `asyncpg on ${kind}`)}`);
  }, 200_000);
});

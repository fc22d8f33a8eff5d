// Issue 5 acceptance, JDBC (Debian's libpostgresql-jdbc-java), through Meridian in transaction
// pooling on primary + 2 standbys and on the 3-node pglogical cluster: prepareThreshold=1 (named
// server statements from the first execution), batch inserts (addBatch/executeBatch), read-write
// and read-only transactions, settings, a temp table, a failed transaction. The Java client
// (test/drivers/JdbcWorkload.java) is compiled here with javac into a temp dir.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sharedCluster, TEST_USERS, type Cluster } from '../support/cluster.js';
import type { RunningMeridian } from '../helpers/meridian.js';
import { compileJava, javaMissing, runJava, type CompiledJava } from '../drivers/run-driver.js';
import { checkObservations, createWorkloadTables, startSessionMeridian } from '../drivers/workload.js';

let compiled: CompiledJava | null = null;

beforeAll(async () => {
  const missing = await javaMissing();
  if (missing !== null) throw new Error(`JDBC workload cannot run: ${missing}`);
  compiled = await compileJava('JdbcWorkload');
}, 240_000);

afterAll(() => compiled?.cleanup());

describe.each<'physical' | 'pglogical'>(['physical', 'pglogical'])('JDBC on %s', (kind) => {
  let cluster: Cluster;
  let mer: RunningMeridian;

  beforeAll(async () => {
    cluster = await sharedCluster(kind);
    mer = await startSessionMeridian(cluster, 'mode: transaction, size: 10, queue_timeout: 10s');
  });

  afterAll(async () => {
    await mer?.stop();
  });

  it('prepareThreshold=1: prepared reads/writes, batch inserts, transactions, search_path, TimeZone, temp table, failed tx', async () => {
    const { table, schema } = await createWorkloadTables(cluster);
    const url = `jdbc:postgresql://127.0.0.1:${mer.port}/app`;
    const report = await runJava(compiled!, 'JdbcWorkload', [url, 'app', TEST_USERS.app.password, table, schema]);
    expect(report.observations.length).toBeGreaterThan(20);
    console.log(`pgjdbc ${String(report.driver)}: ${checkObservations(cluster, report.observations, `JDBC on ${kind}`)}`);
  }, 200_000);
});

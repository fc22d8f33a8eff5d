// `meridian init-heartbeat --config FILE`: creates the heartbeat table (health.heartbeat_table,
// in health.database) on every writable node and, for a kind with a replication set (pglogical,
// spock: its plug-in's heartbeatSetup), adds it to the 'default' set. Idempotent: run it again after adding a node. Standbys (in recovery) get the
// table by replication and are skipped. Uses the probe credentials (health.user). For pglogical /
// spock it fails (exit 1, nothing created) when the extension is not installed in health.database:
// such a table would never replicate.

import pg from 'pg';
import { backendTls, isTlsRequired, tlsOptions } from '../backend/backend-tls.js';
import type { HeartbeatSetup } from '../cluster/kind-plugin.js';
import { kindPlugin } from '../cluster/kinds/index.js';
import type { MeridianConfig, NodeConfig } from '../config/types.js';
import { missingExtensionMessage } from './lag-problem.js';
import { describeProbeError } from './prober.js';
import { quoteLiteral, quoteQualified } from './probe-sql.js';

export interface TextOut {
  write(chunk: string): unknown;
}

const REPLICATION_SET = 'default';

/**
 * The heartbeat table: one row per master, keyed by node name. The primary key is also what
 * row-based replication tools need (Bucardo refuses a table without one; pglogical replicates
 * UPDATEs only with one).
 */
export function heartbeatTableDdl(table: string): string {
  return `CREATE TABLE IF NOT EXISTS ${quoteQualified(table)} (node text PRIMARY KEY, ts timestamptz NOT NULL)`;
}

async function withClient<T>(cfg: MeridianConfig, node: NodeConfig, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const { health, cluster } = cfg;
  const client = new pg.Client({
    host: node.host,
    port: node.port,
    user: health.user,
    password: health.password ?? undefined,
    database: health.database,
    application_name: 'meridian-init-heartbeat',
    connectionTimeoutMillis: Math.max(health.timeoutMs, 5000),
    ssl: isTlsRequired(cluster.tls) ? tlsOptions(backendTls(cluster), node.host) : false,
  });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function exists(c: pg.Client, sql: string): Promise<boolean> {
  return (await c.query(sql)).rows.length > 0;
}

/** Adds the table to the kind's replication set when it has one and the table is not yet a member. */
async function addToReplicationSet(c: pg.Client, setup: HeartbeatSetup, table: string): Promise<string> {
  const sets = setup.replicationSet;
  if (sets === null || setup.extension === null) return setup.note;
  const rel = `${quoteLiteral(quoteQualified(table))}::regclass`;
  const set = quoteLiteral(REPLICATION_SET);
  if (await exists(c, sets.memberSql(rel, set))) return `already in ${setup.extension} replication set '${REPLICATION_SET}'`;
  await c.query(sets.addSql(rel, set));
  return `added to ${setup.extension} replication set '${REPLICATION_SET}'`;
}

async function initNode(cfg: MeridianConfig, node: NodeConfig): Promise<string> {
  const table = cfg.health.heartbeatTable;
  return withClient(cfg, node, async (c) => {
    const rec = await c.query('SELECT pg_is_in_recovery() AS r');
    if (rec.rows[0]?.r === true) return 'standby (in recovery): skipped, the table arrives by replication';
    const setup = kindPlugin(cfg.cluster.kind).heartbeatSetup;
    const ext = setup.extension;
    // A table in a database the extension does not replicate is written everywhere and seen
    // nowhere: lag would stay unknown forever. Refuse before creating anything.
    if (ext !== null && !(await exists(c, `SELECT 1 FROM pg_extension WHERE extname = ${quoteLiteral(ext)}`))) {
      throw new Error(missingExtensionMessage(ext, cfg.health.database));
    }
    // READ WRITE: a read-only subscriber (default_transaction_read_only) still needs the table.
    await c.query(`BEGIN READ WRITE; ${heartbeatTableDdl(table)}; COMMIT`);
    await c.query('BEGIN READ WRITE');
    try {
      const note = await addToReplicationSet(c, setup, table);
      await c.query('COMMIT');
      return `table ${table} ready; ${note}`;
    } catch (err) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
  });
}

/** Runs init-heartbeat; returns the process exit code (0 all nodes done, 1 any failed). */
export async function runInitHeartbeat(cfg: MeridianConfig, out: TextOut): Promise<number> {
  let failed = 0;
  out.write(`init-heartbeat: cluster kind ${cfg.cluster.kind}, database ${cfg.health.database}, table ${cfg.health.heartbeatTable}\n`);
  for (const node of cfg.cluster.nodes) {
    const where = `${node.name} (${node.host}:${node.port})`;
    try {
      out.write(`${where}: ${await initNode(cfg, node)}\n`);
    } catch (err) {
      failed++;
      out.write(`${where}: FAILED: ${describeProbeError(err)}\n`);
    }
  }
  out.write(failed === 0 ? 'init-heartbeat: done\n' : `init-heartbeat: ${failed} node(s) failed; fix and run again (it is idempotent)\n`);
  return failed === 0 ? 0 : 1;
}

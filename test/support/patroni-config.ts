// Test support: the configuration file of one Patroni member (Patroni 3.0: etcd3 DCS, REST API and
// PostgreSQL on loopback ports). Pure: builds the document; patroni.ts writes it and runs Patroni.
//
// How a node comes to exist: the first member bootstraps with a custom method that copies the run's
// template data dir (database app, the test roles and pg_hba of test-users.ts, built once per run), so the
// test users exist before Patroni starts; the others are cloned from the leader with pg_basebackup as
// Patroni's replication user. Settings Patroni wants identical on every member (max_connections,
// wal_level, …) go to the DCS section; everything else too, so the members agree.
import { commonSettings, hbaConf, type ConfSettings } from './test-users.js';

/** Patroni's replication role, created by Patroni after bootstrap (SCRAM, pg_hba scram-sha-256). */
export const PATRONI_REPLICATION_USER = { name: 'replicator', password: 'replicator-secret' } as const;

/** DCS timings: small, for failovers within seconds (loop_wait + 2 × retry_timeout ≤ ttl, as Patroni advises). */
export interface PatroniTimings {
  /** Leader key TTL, s (default 10). */
  ttl?: number;
  /** Pause between HA loops, s (default 1). */
  loopWait?: number;
  /** DCS and PostgreSQL retry deadline, s (default 4). */
  retryTimeout?: number;
  /** How long a crashed primary may take to come back before failing over, s (default 0: fail over at once). */
  primaryStartTimeout?: number;
}

export interface PatroniMemberSpec {
  scope: string;
  name: string;
  pgPort: number;
  restApiPort: number;
  etcdClientPort: number;
  dataDir: string;
  /** Patroni's password file for this member (its own: members must not share one). */
  pgpassFile: string;
  binDir: string;
  /** The run's template data dir, copied by the bootstrapping member. */
  templateDir: string;
  socketDir: string;
  timings?: PatroniTimings;
  /** Extra postgresql.conf settings for every member. */
  settings?: ConfSettings;
}

/** Booleans as on/off: Patroni would write Python's True/False. */
function parameterValues(settings: ConfSettings): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  for (const [k, v] of Object.entries(settings)) out[k] = typeof v === 'boolean' ? (v ? 'on' : 'off') : v;
  return out;
}

/** Parameters of every member (set through the DCS at bootstrap). */
export function clusterParameters(settings: ConfSettings = {}): Record<string, string | number> {
  const common: ConfSettings = { ...commonSettings() };
  delete common.listen_addresses; // Patroni sets it from postgresql.listen
  return parameterValues({
    ...common,
    wal_level: 'replica',
    max_wal_senders: 10,
    max_replication_slots: 10,
    wal_keep_size: '128MB',
    hot_standby_feedback: true,
    wal_receiver_status_interval: '1s',
    // a standby retries a failed stream after this (default 5 s): its slot is created by the leader's next HA loop
    wal_retrieve_retry_interval: '500ms',
    track_commit_timestamp: true,
    ...settings,
  });
}

/** pg_hba of the test clusters plus the replication role (Patroni writes pg_hba.conf from this list). */
export function patroniHba(): string[] {
  const lines = hbaConf()
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.startsWith('#'));
  return [...lines, `host replication ${PATRONI_REPLICATION_USER.name} 127.0.0.1/32 scram-sha-256`];
}

/** Single-quoted for Patroni's shlex.split of a bootstrap command. */
function shellQuote(s: string): string {
  return `'${s.replaceAll("'", `'"'"'`)}'`;
}

/** The YAML document (as an object) for one member. */
export function patroniMemberConfig(m: PatroniMemberSpec): Record<string, unknown> {
  const t = m.timings ?? {};
  return {
    scope: m.scope,
    namespace: '/meridian-test/',
    name: m.name,
    restapi: { listen: `127.0.0.1:${m.restApiPort}`, connect_address: `127.0.0.1:${m.restApiPort}` },
    etcd3: { hosts: [`127.0.0.1:${m.etcdClientPort}`], protocol: 'http' },
    bootstrap: {
      dcs: {
        ttl: t.ttl ?? 10,
        loop_wait: t.loopWait ?? 1,
        retry_timeout: t.retryTimeout ?? 4,
        primary_start_timeout: t.primaryStartTimeout ?? 0,
        maximum_lag_on_failover: 16 * 1024 * 1024,
        postgresql: { use_pg_rewind: true, use_slots: true, parameters: clusterParameters(m.settings) },
      },
      method: 'meridian_template',
      // `dir/.` copies the contents whether or not Patroni created the data dir already
      meridian_template: { command: `cp -a ${shellQuote(`${m.templateDir}/.`)} ${shellQuote(m.dataDir)}`, no_params: true },
    },
    postgresql: {
      listen: `127.0.0.1:${m.pgPort}`,
      connect_address: `127.0.0.1:${m.pgPort}`,
      data_dir: m.dataDir,
      bin_dir: m.binDir,
      pgpass: m.pgpassFile,
      authentication: {
        superuser: { username: 'postgres' },
        replication: { username: PATRONI_REPLICATION_USER.name, password: PATRONI_REPLICATION_USER.password },
      },
      parameters: { unix_socket_directories: m.socketDir },
      pg_hba: patroniHba(),
      use_pg_rewind: true,
      remove_data_directory_on_rewind_failure: true,
      remove_data_directory_on_diverged_timelines: true,
      create_replica_methods: ['basebackup'],
      basebackup: [{ checkpoint: 'fast' }, 'no-sync'],
    },
    tags: { nofailover: false, noloadbalance: false, clonefrom: false, nosync: false },
  };
}

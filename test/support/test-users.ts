// Test support: the roles, passwords and pg_hba rules every test cluster has. One place, so proxy
// configs in tests and the clusters agree. No IO here.

export const TEST_DATABASE = 'app';

export interface TestUser {
  readonly name: string;
  /** undefined: trust (the superuser) */
  readonly password: string | undefined;
  /** the pg_hba method the server uses for this user over TCP */
  readonly auth: 'trust' | 'scram-sha-256' | 'md5' | 'password';
}

export const TEST_USERS = {
  /** superuser, trust from 127.0.0.1 (also for replication) */
  postgres: { name: 'postgres', password: undefined, auth: 'trust' },
  /** password stored as SCRAM, pg_hba scram-sha-256 */
  app: { name: 'app', password: 'app-secret', auth: 'scram-sha-256' },
  /** password stored as md5, pg_hba md5: a real md5 exchange */
  md5user: { name: 'md5user', password: 'md5-secret', auth: 'md5' },
  /** pg_hba password: cleartext password exchange */
  plainuser: { name: 'plainuser', password: 'plain-secret', auth: 'password' },
} as const satisfies Record<string, TestUser>;

export type TestUserName = keyof typeof TEST_USERS;

const APP_ROLES = 'app, md5user, plainuser';

/** Run one by one as superuser in database postgres of a fresh initdb (CREATE DATABASE can't share a transaction). */
export const BOOTSTRAP_SQL_POSTGRES: readonly string[] = [
  `CREATE DATABASE ${TEST_DATABASE}`,
  `CREATE ROLE app LOGIN PASSWORD '${TEST_USERS.app.password}'`,
  `SET password_encryption = 'md5'`,
  `CREATE ROLE md5user LOGIN PASSWORD '${TEST_USERS.md5user.password}'`,
  `RESET password_encryption`,
  `CREATE ROLE plainuser LOGIN PASSWORD '${TEST_USERS.plainuser.password}'`,
  `GRANT ALL ON DATABASE ${TEST_DATABASE} TO ${APP_ROLES}`,
];

/**
 * Run as superuser in database app. PG15 no longer lets everyone create in schema public; tables the
 * tests create as postgres are usable by the app roles through default privileges.
 */
export const BOOTSTRAP_SQL_APP: readonly string[] = [
  `GRANT ALL ON SCHEMA public TO ${APP_ROLES}`,
  `ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA public GRANT ALL ON TABLES TO ${APP_ROLES}`,
  `ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA public GRANT ALL ON SEQUENCES TO ${APP_ROLES}`,
  `ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA public GRANT ALL ON FUNCTIONS TO ${APP_ROLES}`,
];

/** pg_hba.conf for TCP clients from `cidr` (127.0.0.1/32 locally; wider inside a container). */
export function hbaConf(cidr = '127.0.0.1/32'): string {
  return [
    '# Meridian test cluster (test/support/test-users.ts)',
    '# TYPE  DATABASE     USER       ADDRESS   METHOD',
    'local   all          all                  trust',
    `host    all          postgres   ${cidr}   trust`,
    `host    replication  postgres   ${cidr}   trust`,
    `host    all          md5user    ${cidr}   md5`,
    `host    all          plainuser  ${cidr}   password`,
    `host    all          all        ${cidr}   scram-sha-256`,
    '',
  ].join('\n');
}

export type ConfSettings = Record<string, string | number | boolean>;

/** Settings every node gets (small and fast; the data is thrown away). */
export function commonSettings(): ConfSettings {
  return {
    listen_addresses: '127.0.0.1',
    max_connections: 100,
    shared_buffers: '32MB',
    wal_buffers: '1MB',
    work_mem: '4MB',
    maintenance_work_mem: '32MB',
    fsync: false,
    full_page_writes: false,
    // keep on: with 'off' the walsender waits for the walwriter, delaying replication by ~60 ms
    synchronous_commit: true,
    max_wal_size: '256MB',
    min_wal_size: '32MB',
    checkpoint_timeout: '15min',
    log_line_prefix: '%m [%p] %q[%a] ',
    // not 'log': ERROR ranks below LOG for log_min_messages and would be hidden
    log_min_messages: 'warning',
    autovacuum_naptime: '10s',
  };
}

/** A value for postgresql.conf: numbers as is, booleans on/off, strings single-quoted. */
export function confValue(v: string | number | boolean): string {
  if (typeof v === 'number') return String(v);
  if (typeof v === 'boolean') return v ? 'on' : 'off';
  return `'${v.replaceAll("'", "''")}'`;
}

/** Formats settings as postgresql.conf lines. */
export function confLines(settings: ConfSettings): string {
  return Object.entries(settings)
    .map(([k, v]) => `${k} = ${confValue(v)}`)
    .join('\n');
}

/** SQL string literal. */
export function sqlLiteral(s: string): string {
  return `'${s.replaceAll("'", "''")}'`;
}

// `npm run demo`: a local three-region cluster with Meridian in front, for a newcomer to watch.
// Three PostgreSQL nodes replicating active-active with pglogical (a primary + 2 standbys when
// pglogical is missing), each behind a latency relay (2 / 40 / 90 ms round trip), Meridian on
// 127.0.0.1:6432 (or a free port), a light built-in workload, and a live table every second.
// Ctrl-C tears everything down. Reuses the test harness's cluster code (test/support).

import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { parseConfigText } from '../../src/config/load-config.js';
import { runInitHeartbeat } from '../../src/health/init-heartbeat-command.js';
import { createLogger } from '../../src/logger.js';
import { Meridian } from '../../src/server.js';
import { startActiveActive, startPrimaryStandby, TEST_USERS, type Cluster, type PglogicalCluster, type PhysicalCluster } from './cluster.js';
import { startRelay, type Relay } from './latency-relay.js';
import { findPgBin } from './pg-bin.js';

const REGIONS = [
  { region: 'eu-west', rttMs: 2, location: '{ lat: 53.35, lon: -6.26 }' },
  { region: 'us-east', rttMs: 40, location: '{ lat: 38.9, lon: -77.0 }' },
  { region: 'ap-northeast', rttMs: 90, location: '{ lat: 35.68, lon: 139.69 }' },
];

async function startCluster(): Promise<PglogicalCluster | PhysicalCluster> {
  try {
    return await startActiveActive();
  } catch (e) {
    console.log(`pglogical cluster unavailable (${(e as Error).message.split('\n')[0]}); using a primary + 2 standbys`);
    return startPrimaryStandby();
  }
}

function pad(v: unknown, n: number): string {
  const s = String(v);
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

async function main(): Promise<void> {
  const noTraffic = process.argv.includes('--no-traffic');
  console.log('starting PostgreSQL nodes …');
  const cluster = await startCluster();
  const relays: Relay[] = [];
  for (let i = 0; i < cluster.nodes.length; i++) {
    const n = cluster.nodes[i]!;
    relays.push(await startRelay({ targetHost: n.host, targetPort: n.port, delayMs: REGIONS[i]!.rttMs / 2 }));
  }
  const kind = cluster.kind === 'pglogical' ? 'pglogical' : 'physical';
  await cluster.exec('create table if not exists demo_events(id bigserial primary key, at timestamptz default now(), note text)');
  await cluster.exec('grant all on demo_events to app; grant all on sequence demo_events_id_seq to app');
  if (kind === 'pglogical') {
    // pglogical: each node its own id range so concurrent inserts never collide.
    for (let i = 0; i < cluster.nodes.length; i++) {
      await cluster.nodes[i]!.query(`alter sequence demo_events_id_seq restart with ${(i + 1) * 1_000_000_000}`);
    }
    await (cluster as PglogicalCluster).addToReplicationSet('demo_events');
  }
  const port = Number(process.env.MERIDIAN_DEMO_PORT ?? 6432);
  // A fresh secret per run: a config with a well-known admin password is refused at load.
  const adminPassword = randomBytes(12).toString('base64url');
  const yaml = `listen: { host: 127.0.0.1, port: ${port} }
region: eu-west
location: { lat: 53.35, lon: -6.26 }
pool: { size: 10 }
users:
  - { name: app, password: "${TEST_USERS.app.password}", auth: scram-sha-256 }
  - { name: admin, password: "${adminPassword}", auth: scram-sha-256, backend_user: app, backend_password: "${TEST_USERS.app.password}" }
cluster:
  kind: ${kind}
  nodes:
${cluster.nodes.map((n, i) => `    - { name: ${n.name}, host: 127.0.0.1, port: ${relays[i]!.port}, region: ${REGIONS[i]!.region}, location: ${REGIONS[i]!.location} }`).join('\n')}
health: { interval: 500ms, user: postgres, database: app }
routing: { max_read_lag: 2s }
admin: { users: [admin] }
log: { level: warn }
`;
  const cfg = parseConfigText(yaml, 'demo.yaml');
  if (kind === 'pglogical') await runInitHeartbeat(cfg, { write: () => true });
  const m = new Meridian(cfg, { logger: createLogger('warn') });
  let addr: { port: number };
  try {
    addr = await m.start();
  } catch {
    const free = parseConfigText(yaml.replace(`port: ${port} }`, 'port: 0 }'), 'demo.yaml');
    await m.stop(0);
    const m2 = new Meridian(free, { logger: createLogger('warn') });
    return run(m2, await m2.start(), cluster, relays, noTraffic, adminPassword);
  }
  return run(m, addr, cluster, relays, noTraffic, adminPassword);
}

async function run(m: Meridian, addr: { port: number }, cluster: Cluster, relays: Relay[], noTraffic: boolean, adminPassword: string): Promise<void> {
  const dsn = `postgres://app:${TEST_USERS.app.password}@127.0.0.1:${addr.port}/app`;
  const pgCtl = findPgBin().path('pg_ctl');
  console.log(`\nMeridian is listening. Connect with:\n  psql "${dsn}"\n`);
  console.log(`Admin console: psql "postgres://admin:${adminPassword}@127.0.0.1:${addr.port}/meridian" -c 'show nodes'`);
  console.log('Watch a failover: stop the nearest master, e.g.');
  console.log(`  ${process.getuid?.() === 0 ? 'runuser -u postgres -- ' : ''}${pgCtl} stop -m immediate -D ${cluster.nodes[0]!.dataDir}`);
  console.log(`and start it again with the same command and "start -l /tmp/demo-n1.log" instead of "stop -m immediate".\n`);

  const pool = new pg.Pool({ connectionString: dsn, max: 4 });
  pool.on('error', () => {});
  let stop = false;
  const traffic = async () => {
    let i = 0;
    while (!stop) {
      try {
        if (i++ % 5 === 0) await pool.query("insert into demo_events(note) values ('demo')");
        else await pool.query('select count(*) from demo_events');
      } catch {
        /* shown in the table as a down node */
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const workers = noTraffic ? [] : [traffic(), traffic()];
  const table = setInterval(() => {
    const snap = m.health.snapshot;
    const lines = [
      `${pad('node', 8)} ${pad('region', 14)} ${pad('role', 8)} ${pad('up', 4)} ${pad('state', 12)} ${pad('rtt ms', 8)} ${pad('lag ms', 8)} ${pad('reads', 7)} writes`,
    ];
    for (const n of snap.nodes) {
      const c = m.metrics.routedCounts.get(n.name) ?? { reads: 0, writes: 0 };
      lines.push(
        `${pad(n.name, 8)} ${pad(n.region, 14)} ${pad(n.role, 8)} ${pad(n.isUp ? 'yes' : 'NO', 4)} ${pad(n.state, 12)} ${pad(n.rttMs === null ? '-' : n.rttMs.toFixed(1), 8)} ${pad(n.lagMs === null ? '-' : Math.round(n.lagMs), 8)} ${pad(c.reads, 7)} ${c.writes}`,
      );
    }
    console.log(`\n${new Date().toISOString().slice(11, 19)}  (Ctrl-C to stop)\n${lines.join('\n')}`);
  }, 1000);
  await new Promise<void>((resolve) => {
    // on, not once: a second Ctrl-C (or one passed on by `meridian demo`) must not kill the
    // process halfway through the teardown below.
    process.on('SIGINT', () => resolve());
    process.on('SIGTERM', () => resolve());
  });
  console.log('\nstopping …');
  stop = true;
  clearInterval(table);
  await Promise.race([Promise.all(workers), new Promise((r) => setTimeout(r, 2000))]);
  await pool.end().catch(() => {});
  await m.stop(2000);
  await Promise.all(relays.map((r) => r.close()));
  await cluster.stop();
  process.exit(0);
}

main().catch((e: unknown) => {
  console.error(`demo failed: ${(e as Error).stack ?? e}`);
  process.exit(1);
});

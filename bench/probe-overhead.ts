// Probe overhead: CPU Meridian spends probing a 3-node pglogical cluster at a 1 s interval
// (heartbeat writes included), and CPU the probe backends spend on the servers. Starts its own
// cluster from test/support and stops it. Run: npx tsx bench/probe-overhead.ts [seconds]
import { readFileSync } from 'node:fs';
import { parseConfigText } from '../src/config/load-config.js';
import { HealthMonitor } from '../src/health/health-monitor.js';
import { runInitHeartbeat } from '../src/health/init-heartbeat-command.js';
import { silentLogger } from '../src/logger.js';
import { sleep, startActiveActive } from '../test/support/cluster.js';

const seconds = Number(process.argv[2] ?? 30);
const TICKS_PER_S = 100; // USER_HZ

function cpuTicksOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]); // utime + stime (fields 14, 15)
}

async function measure(label: string, run: () => Promise<void>): Promise<number> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await run();
  const cpu = process.cpuUsage(cpu0);
  const share = (cpu.user + cpu.system) / 1000 / (performance.now() - t0);
  console.log(`${label.padEnd(40)} ${(share * 100).toFixed(3)}% of a core`);
  return share;
}

const cluster = await startActiveActive();
try {
  const nodes = cluster.nodes.map((n, i) => `    - { name: ${n.name}, host: ${n.host}, port: ${n.port}, region: r${i + 1} }`).join('\n');
  const cfg = parseConfigText(`listen: { host: 127.0.0.1, port: 0 }
users: [{ name: app, password: "x", auth: scram-sha-256 }]
cluster:
  kind: pglogical
  nodes:
${nodes}
health: { interval: 1s, timeout: 1s, user: postgres, database: app }
`, 'bench.yaml');
  await runInitHeartbeat(cfg, { write: () => undefined });
  const idle = await measure(`idle process, ${seconds} s`, () => sleep(seconds * 1000));
  const monitor = new HealthMonitor(cfg, silentLogger);
  monitor.start();
  await monitor.waitReady(20_000);
  const pids = (await Promise.all(cluster.nodes.map((n) => n.query<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE application_name = 'meridian-probe'`)))).flat().map((r) => r.pid);
  const ticks0 = pids.map(cpuTicksOf);
  const probing = await measure(`probing 3 nodes at 1 s, ${seconds} s`, () => sleep(seconds * 1000));
  const serverTicks = pids.reduce((sum, pid, i) => sum + cpuTicksOf(pid) - (ticks0[i] ?? 0), 0);
  const snap = monitor.snapshot;
  await monitor.stop();
  console.log(`${'Meridian overhead (probing − idle)'.padEnd(40)} ${((probing - idle) * 100).toFixed(3)}% of a core`);
  console.log(`${'probe backends on the servers (3)'.padEnd(40)} ${((serverTicks / TICKS_PER_S / seconds) * 100).toFixed(3)}% of a core`);
  console.log(snap.nodes.map((n) => `${n.name}: rtt ${n.rttMs?.toFixed(2)} ms, lag ${n.lagMs} ms`).join('; '));
} finally {
  await cluster.stop();
}

// Probe overhead: CPU of a process that only probes a 3-node pglogical cluster at a 1 s interval
// (heartbeat writes included), measured from outside, and CPU of the probe backends on the
// servers. Starts its own cluster from test/support and stops it.
// Run: npx tsx bench/probe-overhead.ts [seconds] [warm-up seconds]
import { parseConfigText } from '../src/config/load-config.js';
import { runInitHeartbeat } from '../src/health/init-heartbeat-command.js';
import { startActiveActive } from '../test/support/cluster.js';
import { cpuSecondsOf, measureProbeCpu } from './probe-cpu.js';

const seconds = Number(process.argv[2] ?? 30);
const warmupSeconds = Number(process.argv[3] ?? 2);
const cluster = await startActiveActive();
try {
  const nodes = cluster.nodes.map((n, i) => `    - { name: ${n.name}, host: ${n.host}, port: ${n.port}, region: r${i + 1} }`).join('\n');
  const yaml = `listen: { host: 127.0.0.1, port: 0 }
users: [{ name: app, password: "x", auth: scram-sha-256 }]
cluster:
  kind: pglogical
  nodes:
${nodes}
health: { interval: 1s, timeout: 1s, user: postgres, database: app }
`;
  await runInitHeartbeat(parseConfigText(yaml, 'bench.yaml'), { write: () => undefined });
  let backendCpu = 0;
  const share = await measureProbeCpu(yaml, seconds * 1000, warmupSeconds * 1000);
  // The probe backends are gone once the child stopped; sample them during a second short run.
  const pidsOf = async () =>
    (await Promise.all(cluster.nodes.map((n) => n.query<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE application_name = 'meridian-probe'`))))
      .flat()
      .map((r) => r.pid);
  const second = measureProbeCpu(yaml, 10_000);
  await new Promise((r) => setTimeout(r, 6000));
  const pids = await pidsOf();
  const c0 = pids.map(cpuSecondsOf);
  await new Promise((r) => setTimeout(r, 5000));
  backendCpu = pids.reduce((sum, pid, i) => sum + cpuSecondsOf(pid) - (c0[i] ?? 0), 0) / 5;
  await second;
  console.log(`Meridian probing 3 nodes at 1 s (own process, ${seconds} s after ${warmupSeconds} s): ${(share * 100).toFixed(3)}% of a core`);
  console.log(`probe backends on the servers (3, 5 s):             ${(backendCpu * 100).toFixed(3)}% of a core`);
} finally {
  await cluster.stop();
}

// A process that only runs Meridian's HealthMonitor, so its CPU can be measured from outside
// (/proc/<pid>/stat) without the test runner's or harness's own work. Config YAML comes in
// MERIDIAN_PROBE_CONFIG; prints "ready" once every node was probed and has a known lag; stops
// cleanly on SIGTERM. Used by bench/probe-overhead.ts and test/integration/health-probes.test.ts.
import { parseConfigText } from '../src/config/load-config.js';
import { HealthMonitor } from '../src/health/health-monitor.js';
import { silentLogger } from '../src/logger.js';

const yaml = process.env.MERIDIAN_PROBE_CONFIG;
if (yaml === undefined) throw new Error('MERIDIAN_PROBE_CONFIG is not set');
const monitor = new HealthMonitor(parseConfigText(yaml, 'probe-child.yaml'), silentLogger);
monitor.start();
const isReady = await monitor.waitReady(30_000);
process.stdout.write(isReady ? 'ready\n' : 'not ready\n');
const keepAlive = setInterval(() => undefined, 60_000);
process.on('SIGTERM', () => {
  clearInterval(keepAlive);
  void monitor.stop().then(() => process.exit(0));
});

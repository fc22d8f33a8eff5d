// The primary process of a multi-process instance (`workers` > 1). It serves no client: it forks
// the workers (node:cluster: they share the listen ports), restarts one that dies, probes every
// node once for the whole instance (its own HealthMonitor) and sends each new snapshot to every
// worker, relays admin commands a worker fans out to the other workers, aggregates every
// process's metrics for /metrics, and turns SIGHUP/SIGTERM/SIGINT (or SHUTDOWN on a worker) into
// a reload or a stop of every worker. Nothing a worker sends can throw out of a handler here.

import cluster, { type Worker } from 'node:cluster';
import client from 'prom-client';
import { normalizeCommand } from '../admin/console.js';
import { showStats } from '../admin/show-stats.js';
import { loadConfigFile } from '../config/load-config.js';
import type { MeridianConfig } from '../config/types.js';
import { HealthMonitor } from '../health/health-monitor.js';
import type { Logger } from '../logger.js';
import { Metrics } from '../metrics/metrics.js';
import { detectRuntime } from '../net/runtime.js';
import { followDrains } from './drained-nodes.js';
import { IpcChannel } from './ipc-channel.js';
import type { PeerAnswer, WireTable } from './link.js';
import { sharedPortsProblem } from './port-check.js';
import {
  FleetOp,
  HEALTHY_LIFETIME_MS,
  METRICS_TIMEOUT_MS,
  RELOAD_TIMEOUT_MS,
  CANCEL_TIMEOUT_MS,
  RESTART_DELAY_MAX_MS,
  RESTART_DELAY_MS,
  STOP_GRACE_MS,
  type FanoutRequest,
  type Welcome,
} from './protocol.js';
import { topologyToWire } from './topology-wire.js';

interface WorkerSlot {
  readonly index: number;
  worker: Worker | null;
  channel: IpcChannel | null;
  /** Said hello: it has the topology and takes admin commands. */
  isReady: boolean;
  startedAtMs: number;
  restartDelayMs: number;
  restartTimer: NodeJS.Timeout | null;
}

export class FleetPrimary {
  private cfg: MeridianConfig;
  private readonly log: Logger;
  readonly metrics = new Metrics();
  readonly health: HealthMonitor;
  private readonly slots: WorkerSlot[] = [];
  /** Nodes drained through the admin fan-out and not undrained since (restarted workers start with them drained). */
  private readonly drained = new Set<string>();
  private isStopping = false;
  /** True once a worker has listened: from then on a dead worker is restarted, before that the instance stops. */
  private hasListened = false;
  /** What the primary exits with once stopped (1: no worker could start). */
  exitCode = 0;
  /** Worker restarts (for logs and the tests' figures). */
  restarts = 0;

  constructor(
    cfg: MeridianConfig,
    logger: Logger,
    private readonly configPath: string,
    /** Called once every worker has exited after stop() (a signal, or SHUTDOWN on a worker). */
    private readonly onStopped: () => void = () => {},
  ) {
    this.cfg = cfg;
    this.log = logger.child({ component: 'fleet' });
    this.health = new HealthMonitor(cfg, logger, this.metrics);
    this.health.store.onChange(() => this.broadcastTopology());
  }

  start(): void {
    this.health.start();
    for (let i = 0; i < this.cfg.workers; i++) {
      const slot: WorkerSlot = { index: i, worker: null, channel: null, isReady: false, startedAtMs: 0, restartDelayMs: RESTART_DELAY_MS, restartTimer: null };
      this.slots.push(slot);
      this.fork(slot);
    }
    this.log.info({ workers: this.cfg.workers }, 'workers starting');
  }

  private fork(slot: WorkerSlot): void {
    slot.restartTimer = null;
    const worker = cluster.fork({ MERIDIAN_WORKER_INDEX: String(slot.index) });
    const channel = new IpcChannel(
      (m) => worker.send(m, undefined, undefined, () => {}),
      (op, body) => this.onRequest(slot, op, body),
      (op, body) => this.onEvent(op, body),
      (err) => this.log.error({ worker: slot.index, err: (err as Error).stack ?? String(err) }, 'fleet message failed'),
    );
    slot.worker = worker;
    slot.channel = channel;
    slot.isReady = false;
    slot.startedAtMs = Date.now();
    worker.on('message', (m: unknown) => channel.receive(m));
    worker.on('error', (err) => this.log.warn({ worker: slot.index, err: err.message }, 'worker channel error'));
    worker.on('exit', (code, signal) => this.onExit(slot, worker, code, signal));
  }

  private onExit(slot: WorkerSlot, worker: Worker, code: number | null, signal: string | null): void {
    if (slot.worker !== worker) return;
    slot.channel?.close(`worker ${slot.index} exited`);
    slot.worker = null;
    slot.channel = null;
    slot.isReady = false;
    if (this.isStopping) return;
    if (!this.hasListened) {
      // No worker ever got as far as listening (port in use, a bad certificate …): restarting
      // would fail the same way forever. Stop, and exit non-zero as a single process would.
      this.log.error({ worker: slot.index, code, signal }, 'worker failed to start; stopping');
      this.exitCode = 1;
      void this.stop();
      return;
    }
    const lived = Date.now() - slot.startedAtMs;
    slot.restartDelayMs = lived >= HEALTHY_LIFETIME_MS ? RESTART_DELAY_MS : Math.min(slot.restartDelayMs * 2, RESTART_DELAY_MAX_MS);
    const delayMs = lived >= HEALTHY_LIFETIME_MS ? RESTART_DELAY_MS : slot.restartDelayMs;
    this.restarts++;
    this.log.warn({ worker: slot.index, code, signal, restartInMs: delayMs }, 'worker exited; restarting');
    slot.restartTimer = setTimeout(() => {
      if (!this.isStopping) this.fork(slot);
    }, delayMs);
  }

  private wire() {
    return topologyToWire(this.health.snapshot, (n) => this.health.lagStatusOf(n));
  }

  private broadcastTopology(): void {
    const ready = this.slots.filter((s) => s.isReady && s.channel !== null);
    if (ready.length === 0) return;
    const wire = this.wire();
    for (const s of ready) s.channel?.emit(FleetOp.Topology, wire);
  }

  private async onRequest(slot: WorkerSlot, op: string, body: unknown): Promise<unknown> {
    switch (op) {
      case FleetOp.Hello: {
        slot.isReady = true;
        const welcome: Welcome = { topology: this.wire(), drained: [...this.drained] };
        return welcome;
      }
      case FleetOp.Probe:
        // The snapshot it produces goes out (listener) before this answer, on the same channel.
        await this.health.probeNow(String(body));
        return null;
      case FleetOp.Fanout: {
        const req = body as FanoutRequest;
        return this.fanout(String(req.command), Number(req.timeoutMs), slot.index);
      }
      case FleetOp.Metrics:
        return this.metricsText();
      case FleetOp.Cancel: {
        const { pid, secret } = body as { pid: number; secret: number };
        await this.forwardCancel(slot.index, Number(pid), Number(secret));
        return null;
      }
      default:
        throw new Error(`unknown request ${op}`);
    }
  }

  /** A cancel request one worker got for a key it did not hand out: whichever other worker has it cancels. */
  private async forwardCancel(from: number, pid: number, secret: number): Promise<void> {
    const others = this.slots.filter((s) => s.index !== from && s.isReady && s.channel !== null);
    const found = await Promise.all(
      others.map((s) =>
        s.channel!.request(FleetOp.CancelHere, { pid, secret }, CANCEL_TIMEOUT_MS).then(
          (r) => r === true,
          () => false,
        ),
      ),
    );
    if (!found.includes(true)) this.metrics.cancelRequests.labels('unknown').inc();
  }

  private onEvent(op: string, body: unknown): void {
    if (op === FleetOp.Evict) {
      const { node, reason } = body as { node: string; reason: string };
      this.health.reportFailure(String(node), String(reason));
    } else if (op === FleetOp.Listening) {
      this.hasListened = true;
    } else if (op === FleetOp.Shutdown) {
      this.log.info({}, 'SHUTDOWN on a worker: stopping the instance');
      void this.stop();
    }
  }

  /** Runs an admin command on every ready worker but `except`; a worker's failure is its answer. */
  async fanout(command: string, timeoutMs: number, except: number | null): Promise<PeerAnswer[]> {
    const targets = this.slots.filter((s) => s.index !== except && s.isReady && s.channel !== null);
    const answers = await Promise.all(
      targets.map(async (s): Promise<PeerAnswer> => {
        try {
          const table = (await s.channel!.request(FleetOp.Admin, command, timeoutMs)) as WireTable;
          return { worker: s.index, ok: true, table };
        } catch (err) {
          return { worker: s.index, ok: false, code: 'ADMIN_FAILED', sqlstate: '55000', message: (err as Error).message };
        }
      }),
    );
    this.noteAdminState(command, answers);
    // The probe counters (probe failures, evictions, failovers) are the primary's: its own row set joins the sum.
    if (/^show stats$/i.test(normalizeCommand(command))) {
      answers.push({ worker: -1, ok: true, table: await showStats({ metrics: this.metrics, topology: this.health.store }) });
    }
    return answers;
  }

  /** Follows DRAIN / UNDRAIN (for workers started later) and RELOAD (the probes' config) of the instance. */
  private noteAdminState(command: string, answers: readonly PeerAnswer[]): void {
    try {
      if (followDrains(this.drained, command, answers)) this.reloadOwn();
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'admin command not followed');
    }
  }

  /** The primary's own part of a reload: probe settings and the node list. */
  private reloadOwn(): void {
    try {
      const next = loadConfigFile(this.configPath);
      this.cfg = next;
      this.health.applyConfig(next);
      for (const n of [...this.drained]) if (!next.cluster.nodes.some((c) => c.name === n)) this.drained.delete(n);
    } catch (err) {
      this.log.error({ err: (err as Error).message }, 'reload failed');
    }
  }

  /** SIGHUP: every worker reloads (each drains the nodes the file removes), then the probes. */
  async reloadAll(): Promise<void> {
    const answers = await this.fanout('RELOAD', RELOAD_TIMEOUT_MS, null);
    for (const a of answers) if (!a.ok) this.log.error({ worker: a.worker, err: a.message }, 'reload failed');
  }

  /** Every process's metrics, summed (topology gauges: the maximum); a worker that does not answer is left out. */
  async metricsText(): Promise<string> {
    const ready = this.slots.filter((s) => s.isReady && s.channel !== null);
    const parts = await Promise.all(ready.map((s) => s.channel!.request(FleetOp.MetricsJson, null, METRICS_TIMEOUT_MS).catch(() => null)));
    const all: object[] = [await this.metrics.registry.getMetricsAsJSON(), ...parts.filter((p): p is object => p !== null && typeof p === 'object')];
    return client.AggregatorRegistry.aggregate(all).metrics();
  }

  /** Stops every worker (SIGTERM: each finishes its transactions), then the probes. */
  async stop(): Promise<void> {
    if (this.isStopping) return;
    this.isStopping = true;
    const live: Worker[] = [];
    for (const s of this.slots) {
      if (s.restartTimer !== null) clearTimeout(s.restartTimer);
      if (s.worker !== null) live.push(s.worker);
    }
    await Promise.all(
      live.map(
        (w) =>
          new Promise<void>((resolve) => {
            if (w.isDead()) return resolve();
            const kill = setTimeout(() => w.process.kill('SIGKILL'), this.cfg.shutdown.unreadyDelayMs + this.cfg.shutdown.graceMs + STOP_GRACE_MS);
            w.once('exit', () => {
              clearTimeout(kill);
              resolve();
            });
            w.process.kill('SIGTERM');
          }),
      ),
    );
    await this.health.stop();
    this.onStopped();
  }
}

/** The `meridian --config FILE` process when `workers` > 1 and this is the primary: runs until a signal. */
export async function runPrimary(cfg: MeridianConfig, configPath: string, logger: Logger): Promise<number> {
  if (detectRuntime() === 'bun') {
    // Bun's workers bind the ports with SO_REUSEPORT: make sure nobody else holds them first.
    const problem = await sharedPortsProblem(cfg);
    if (problem !== null) {
      logger.error({ err: problem }, 'workers cannot share the ports; stopping');
      return 1;
    }
  }
  // Under Bun, process.execPath is bun and execArgv is empty: the workers run `bun <script>` too.
  cluster.setupPrimary({ exec: process.argv[1], args: process.argv.slice(2), execArgv: process.execArgv });
  return new Promise((resolve) => {
    const p: FleetPrimary = new FleetPrimary(cfg, logger, configPath, () => resolve(p.exitCode));
    p.start();
    process.on('SIGHUP', () => void p.reloadAll());
    const stop = (sig: string) => {
      logger.info({ signal: sig }, 'stopping');
      void p.stop();
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
  });
}

// One worker process of a multi-process instance (`workers` > 1), started by the primary through
// node:cluster: it serves clients (and the admin HTTP API) on the listen ports it shares with the
// other workers, with its own pools, and routes on the topology the primary sends (it never
// probes). Its FleetLink sends failures, probe requests, fanned-out admin commands and metrics
// requests to the primary. Before it listens it waits for the primary's first topology, so its
// first client is routed on real node states. Process exits: SIGTERM (the primary's stop) and
// SHUTDOWN; the primary restarts a worker that dies otherwise.

import { Errors } from '../errors.js';
import type { LagStatus } from '../health/lag-problem.js';
import type { MeridianConfig } from '../config/types.js';
import type { Logger } from '../logger.js';
import { Meridian } from '../server.js';
import { CancelRelay } from './cancel-relay.js';
import { IpcChannel, type IpcMessage } from './ipc-channel.js';
import type { FleetLink, PeerAnswer } from './link.js';
import {
  CANCEL_TIMEOUT_MS,
  FleetOp,
  HELLO_TIMEOUT_MS,
  METRICS_TIMEOUT_MS,
  PROBE_TIMEOUT_MS,
  type FanoutRequest,
  type Hello,
  type Welcome,
} from './protocol.js';
import { TopologyFollower, type WireTopology } from './topology-wire.js';

class WorkerLink implements FleetLink {
  follower: TopologyFollower | null = null;
  /** Answers a peer's admin command; set once the process object exists. */
  runLocal: ((command: string) => Promise<unknown>) | null = null;
  metricsJson: (() => Promise<unknown>) | null = null;
  cancelHere: ((pid: number, secret: number) => boolean) | null = null;
  readonly channel: IpcChannel;
  log: Logger | null = null;
  private readonly cancels = new CancelRelay((pid, secret) => this.channel.request(FleetOp.Cancel, { pid, secret }, CANCEL_TIMEOUT_MS));

  constructor(readonly workerIndex: number) {
    this.channel = new IpcChannel(
      (m: IpcMessage) => process.send?.(m, undefined, undefined, () => {}),
      (op, body) => this.onRequest(op, body),
      (op, body) => {
        if (op === FleetOp.Topology) this.follower?.apply(body as WireTopology);
      },
      (err) => this.log?.error({ err: (err as Error).stack ?? String(err) }, 'fleet message failed'),
    );
  }

  private onRequest(op: string, body: unknown): Promise<unknown> {
    if (op === FleetOp.Admin && this.runLocal !== null) return this.runLocal(String(body));
    if (op === FleetOp.MetricsJson && this.metricsJson !== null) return this.metricsJson();
    if (op === FleetOp.CancelHere && this.cancelHere !== null) {
      const { pid, secret } = body as { pid: number; secret: number };
      return Promise.resolve(this.cancelHere(Number(pid), Number(secret)));
    }
    return Promise.reject(new Error(`worker cannot answer ${op}`));
  }

  reportFailure(node: string, reason: string): void {
    this.channel.emit(FleetOp.Evict, { node, reason });
  }

  async probeNow(node: string): Promise<void> {
    // The primary sends the resulting topology before its answer (one ordered channel).
    await this.channel.request(FleetOp.Probe, node, PROBE_TIMEOUT_MS).catch(() => undefined);
  }

  lagStatusOf(node: string): LagStatus | null {
    return this.follower?.lagStatusOf(node) ?? null;
  }

  async runOnPeers(command: string, timeoutMs: number): Promise<PeerAnswer[]> {
    try {
      const body: FanoutRequest = { command, timeoutMs };
      return (await this.channel.request(FleetOp.Fanout, body, timeoutMs + 1_000)) as PeerAnswer[];
    } catch (err) {
      throw Errors.adminFailed(`not every worker answered: ${(err as Error).message}`);
    }
  }

  async instanceMetrics(): Promise<string> {
    return String(await this.channel.request(FleetOp.Metrics, null, METRICS_TIMEOUT_MS));
  }

  forwardCancel(pid: number, secret: number): boolean {
    return this.cancels.relay(pid, secret);
  }

  serving(): void {
    this.channel.emit(FleetOp.Listening, null);
  }

  shutdownInstance(): void {
    this.channel.emit(FleetOp.Shutdown, null);
  }
}

/** Worker index from the environment the primary set (MERIDIAN_WORKER_INDEX). */
export function workerIndexFromEnv(): number {
  const n = Number(process.env.MERIDIAN_WORKER_INDEX ?? '0');
  return Number.isInteger(n) && n >= 0 ? n : 0;
}

/**
 * Builds this worker's process object, waits for the primary's first topology (and the nodes
 * drained instance-wide), and starts listening. Returns the running server.
 */
export async function startWorker(cfg: MeridianConfig, logger: Logger, configPath: string): Promise<Meridian> {
  const link = new WorkerLink(workerIndexFromEnv());
  process.on('message', (m: unknown) => link.channel.receive(m));
  process.on('disconnect', () => {
    // The primary is gone: nobody will restart, probe or stop this worker; stop now.
    logger.error({}, 'primary gone');
    process.exit(1);
  });
  link.log = logger.child({ worker: link.workerIndex });
  const m = new Meridian(cfg, { logger: link.log, configPath, fleet: link });
  link.follower = new TopologyFollower(m.health.store, () => m.config.routing.readmitMaxLagMs);
  link.runLocal = async (command) => m.admin.runForPeer(command);
  link.metricsJson = () => m.metrics.registry.getMetricsAsJSON();
  link.cancelHere = (pid, secret) => m.cancelForPeer(pid, secret);
  const hello: Hello = { worker: link.workerIndex };
  const welcome = (await link.channel.request(FleetOp.Hello, hello, HELLO_TIMEOUT_MS)) as Welcome;
  link.follower.apply(welcome.topology);
  for (const node of welcome.drained) {
    if (!m.health.store.snapshot.byName.has(node)) continue;
    m.health.store.setAdminState(node, 'drained', 'drained in the instance (worker start)');
    m.pools.setNodeDraining(node, true);
  }
  await m.start();
  return m;
}

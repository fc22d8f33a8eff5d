// The operations the primary and its workers exchange over IPC (ipc-channel.ts carries them) and
// their bodies. Types and constants only.

import type { WireTopology } from './topology-wire.js';

export const FleetOp = {
  /** worker → primary request, first message: answered with a Welcome. */
  Hello: 'hello',
  /** primary → worker event: a new topology snapshot. */
  Topology: 'topology',
  /** worker → primary event: passive health saw a node fail ({ node, reason }). */
  Evict: 'evict',
  /** worker → primary request: probe a node now (body: the node name). */
  Probe: 'probe',
  /** worker → primary request: run an admin command on every other worker; answered with PeerAnswer[]. */
  Fanout: 'fanout',
  /** primary → worker request: run an admin command here; answered with its table. */
  Admin: 'admin',
  /** worker → primary request: the whole instance's Prometheus text. */
  Metrics: 'metrics',
  /** primary → worker request: this worker's metrics as prom-client JSON. */
  MetricsJson: 'metrics-json',
  /** worker → primary request: a cancel request for a key this worker did not hand out ({ pid, secret }); answered once the others looked. */
  Cancel: 'cancel',
  /** primary → worker request: cancel your session with this key ({ pid, secret }); answered true when found. */
  CancelHere: 'cancel-here',
  /** worker → primary event: this worker listens for clients and admin HTTP (the instance came up). */
  Listening: 'listening',
  /** worker → primary event: SHUTDOWN ran here; stop the instance. */
  Shutdown: 'shutdown',
} as const;

export interface Hello {
  readonly worker: number;
}

export interface Welcome {
  readonly topology: WireTopology;
  /** Nodes DRAINed through the admin fan-out and not UNDRAINed since: a restarted worker starts with them drained. */
  readonly drained: readonly string[];
}

export interface FanoutRequest {
  readonly command: string;
  /** How long each worker may take (a drain's own timeout and more). */
  readonly timeoutMs: number;
}

export const HELLO_TIMEOUT_MS = 10_000;
export const PROBE_TIMEOUT_MS = 15_000;
export const METRICS_TIMEOUT_MS = 5_000;
export const CANCEL_TIMEOUT_MS = 5_000;
/** SIGHUP's reload, fanned out by the primary: how long each worker may take. */
export const RELOAD_TIMEOUT_MS = 60_000;
/** Restart delay of a worker that died: doubles while workers keep dying young, up to the maximum. */
export const RESTART_DELAY_MS = 200;
export const RESTART_DELAY_MAX_MS = 10_000;
/** A worker that lived this long before dying restarts after the first delay again. */
export const HEALTHY_LIFETIME_MS = 30_000;
/** Beyond shutdown.unready_delay + shutdown.grace, how long the primary's stop waits for its workers to exit before it kills them. */
export const STOP_GRACE_MS = 5_000;

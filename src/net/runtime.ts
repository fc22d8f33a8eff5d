// Which runtime this process runs on, and the transport that goes with it: Bun's native sockets
// under Bun, node:net under Node.js. Chosen once, when the module loads; everything that opens or
// accepts connections asks `transport`.

import { bunTransport } from './bun-transport.js';
import { nodeTransport } from './node-transport.js';
import type { RuntimeName, Transport } from './transport.js';

/** The runtime executing this process (not a preference: see cli.ts for --runtime). */
export function detectRuntime(): RuntimeName {
  return typeof (globalThis as { Bun?: unknown }).Bun !== 'undefined' ? 'bun' : 'node';
}

export const transport: Transport = detectRuntime() === 'bun' ? bunTransport() : nodeTransport;

export interface RuntimeInfo {
  readonly runtime: RuntimeName;
  /** The runtime's own version ("1.4.5", "20.11.1"). */
  readonly version: string;
  /** For people: "Bun 1.4.5", "Node.js 20.11.1". */
  readonly description: string;
}

/** What SHOW VERSION, /healthz and meridian_build_info report. */
export const runtimeInfo: RuntimeInfo = Object.freeze({
  runtime: transport.runtime,
  version: transport.version.replace(/^v/, ''),
  description: `${transport.runtime === 'bun' ? 'Bun' : 'Node.js'} ${transport.version.replace(/^v/, '')}`,
});

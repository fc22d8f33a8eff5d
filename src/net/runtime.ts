// Which runtime this process runs on, and the transport that goes with it. Chosen once, when the
// module loads; everything that opens or accepts connections asks `transport`.

import { nodeTransport } from './node-transport.js';
import type { RuntimeName, Transport } from './transport.js';

/** The runtime executing this process. */
export function detectRuntime(): RuntimeName {
  return typeof (globalThis as { Bun?: unknown }).Bun !== 'undefined' ? 'bun' : 'node';
}

export const transport: Transport = nodeTransport;

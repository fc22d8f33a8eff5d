// POST /nodes/:name/drain and /undrain (placeholder until drain.ts lands).
import type { Meridian } from '../server.js';

export interface HttpResult {
  readonly status: number;
  readonly body: unknown;
}

export async function httpDrain(_m: Meridian, node: string, _body: string, _q: URLSearchParams): Promise<HttpResult> {
  return { status: 501, body: { error: `drain of ${node} not implemented yet` } };
}

export async function httpUndrain(_m: Meridian, node: string): Promise<HttpResult> {
  return { status: 501, body: { error: `undrain of ${node} not implemented yet` } };
}

// Drain orchestration (placeholder until the full implementation lands).
import type { Meridian } from '../server.js';

export function drainProgress(_m: Meridian, _node: string): string | null {
  return null;
}

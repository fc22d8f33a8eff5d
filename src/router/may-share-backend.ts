// Whether a request may share the backend a session already has attached (a request still in
// flight there, outside a transaction): the router's decision, built on the same node checks as
// routing itself (node-checks.ts), so a node routing would refuse now never takes a pipelined
// request either. Pure; allocates nothing (it runs for each pipelined Query/Parse/Bind).

import type { RouteHint } from '../classify/types.js';
import type { NodeSnapshot } from '../topology/types.js';
import { Check, checkUsable, checkWrite } from './node-checks.js';

/**
 * `node` is the attached backend's node (undefined: no longer in the topology), `name` its name.
 * - node=NAME: only that node;
 * - a write (route=master, a write statement, or reads that need a master): a node that may take
 *   a write now — up, active, master, not a split-brain loser, inside the session's residency;
 * - route=replica: a usable replica (up, active, allowed, not split-brain); a master, or a node
 *   down or draining, makes the request route anew;
 * - any other read: the node serving the request in flight serves the read behind it.
 */
export function mayShareBackend(
  node: NodeSnapshot | undefined,
  name: string,
  isWrite: boolean,
  hint: RouteHint | null,
  allowed: ReadonlySet<string> | null,
): boolean {
  if (hint !== null && 'node' in hint) return hint.node === name;
  if (node === undefined) return hint === null && !isWrite;
  if ((hint !== null && hint.route === 'master') || (hint === null && isWrite)) return checkWrite(node, allowed) === Check.ok;
  if (hint !== null) return node.role === 'replica' && !node.isSplitBrain && checkUsable(node, allowed) === Check.ok;
  return true;
}

// A shared prepared statement whose plan DDL invalidated. Meridian prepares a client's named
// statement once per backend under a global name and shares it between sessions (session-relay.ts);
// a client that prepares the same text after an ALTER TABLE may get the statement prepared before
// it. The server re-analyses it at Bind (or Describe) and refuses it where a statement prepared
// now would not: 0A000 "cached plan must not change result type" when the result's columns
// changed type, a class 42 error (42804 …) when a parameter's type, fixed at the first prepare,
// no longer fits. When such a refusal is the first answer of a request outside a transaction and
// nothing but ParseCompletes went to the client, the statement is prepared again under the same
// name and the request replayed from the refused message, once: a refusal that was not about a
// stale plan comes back the same and reaches the client. This module decides whether, and from
// which frame.

import { FrontendCode } from '../protocol/codes.js';
import { readBindStatement, readTargetName } from '../protocol/messages.js';
import type { FrameList } from './frame-list.js';

const STATEMENT = 0x53; // 'S' in Describe

/** A refusal at Bind or Describe that a statement prepared afresh may not get (see above). */
export function isPlanInvalidated(code: string, message: string): boolean {
  if (code === '0A000') return message === 'cached plan must not change result type';
  return code.startsWith('42');
}

/**
 * Index (from list.head) of the frame to replay from, or -1 (`globalOf`: the global name of a
 * client's statement): the request's first message that
 * uses a statement (Bind, Describe of a statement) must name `global`'s statement, and only
 * Parse messages may come before it (their ParseCompletes stay true).
 */
export function replayStart(list: FrameList, global: string, globalOf: (clientName: string) => string | undefined): number {
  for (let i = list.head; i < list.tail; i++) {
    const code = list.codes[i]!;
    if (code === FrontendCode.Parse) continue;
    const buf = list.bufs[i]!;
    let name: string | null = null;
    if (code === FrontendCode.Bind) name = readBindStatement(buf, list.starts[i]!, list.ends[i]!).name;
    else if (code === FrontendCode.Describe) {
      const t = readTargetName(buf, list.starts[i]!, list.ends[i]!);
      if (t.kind === STATEMENT) name = t.name;
    }
    if (name === null || name === '') return -1;
    return globalOf(name) === global ? i - list.head : -1;
  }
  return -1;
}

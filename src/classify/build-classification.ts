// Merges the statements of one request into the frozen Classification the router and session
// read. The class is the strongest over all statements; isWrite is true when any statement must
// run on a master (a plain BEGIN made read-only by the SET TRANSACTION right behind it need not:
// tx-modes.ts). Routing should look at isWrite (and hint); class tells the session about
// transaction boundaries and session state.

import type { StatementInfo } from './statement-info.js';
import { isMadeReadOnly, settledAccess } from './tx-modes.js';
import type { Classification, RouteHint, SessionEffect, StatementClass } from './types.js';

const EMPTY_EFFECTS: readonly SessionEffect[] = Object.freeze([]);
const EMPTY_FUNCTIONS: readonly string[] = Object.freeze([]);

/** write > tx-begin > tx-end > tx-control > session > read. */
const RANK: Readonly<Record<StatementClass, number>> = {
  read: 0,
  session: 1,
  'tx-control': 2,
  'tx-end': 3,
  'tx-begin': 4,
  write: 5,
};

export function buildClassification(infos: readonly StatementInfo[], hint: RouteHint | null): Classification {
  const first = infos[0];
  if (first === undefined) {
    return freeze('read', false, false, hint, EMPTY_EFFECTS, EMPTY_FUNCTIONS, 0, false, false, false, false, 'empty query');
  }
  let top = first;
  let isTopWrite = false;
  let writer: StatementInfo | null = null; // the first statement that makes the request a write
  let onlyMeridian = true;
  let resetsBackend = false;
  let effects: SessionEffect[] | null = null;
  let functions: string[] | null = null;
  for (let i = 0; i < infos.length; i++) {
    const info = infos[i] as StatementInfo;
    // `begin; set transaction read only; …` in one Query is a read, as BEGIN READ ONLY is.
    const isWrite = info.isWrite && !isMadeReadOnly(infos, i);
    if (isWrite) writer ??= info;
    if (i === 0 || RANK[info.cls] > RANK[top.cls]) {
      top = info;
      isTopWrite = isWrite;
    }
    if (!info.isMeridianSetting) onlyMeridian = false;
    if (info.hasOpaqueCall) resetsBackend = true;
    if (info.effects.length > 0) (effects ??= []).push(...info.effects);
    if (infos.length > 1) (effects ??= []).push(STATEMENT_END);
    for (const f of info.functions) {
      functions ??= [];
      if (!functions.includes(f)) functions.push(f);
    }
  }
  // Transaction order: any BEGIN / COMMIT / ROLLBACK / PREPARE TRANSACTION, or several statements
  // of which one has an effect; otherwise the boundaries are dropped (plain multi-statement reads).
  const ordered = effects !== null && (infos.length > 1 ? effects.some(isNotBoundary) : effects.some(isTxMarker));
  if (!ordered && effects !== null) {
    effects = effects.filter(isNotBoundary);
    if (effects.length === 0) effects = null;
  }
  // The reason names what made the request a write when the top class is not itself a write.
  let reason = top.reason;
  if (writer !== null && !isTopWrite) reason = writer.reason;
  else if (writer === null && top.isWrite) reason = `${top.reason}; set transaction read only`;
  return freeze(
    top.cls,
    writer !== null,
    first.txAccess !== null && settledAccess(infos, 0) === 'read-only',
    hint,
    effects === null ? EMPTY_EFFECTS : Object.freeze(effects),
    functions === null ? EMPTY_FUNCTIONS : Object.freeze(functions),
    infos.length,
    ordered,
    onlyMeridian,
    resetsBackend,
    infos.length === 1 && first.isPlainDml,
    reason,
  );
}

const STATEMENT_END: SessionEffect = Object.freeze({ type: 'statement-end' });
const isNotBoundary = (e: SessionEffect): boolean => e.type !== 'statement-end';
/** BEGIN / COMMIT / ROLLBACK / PREPARE TRANSACTION's transaction-order marker. */
export const isTxMarker = (e: SessionEffect): boolean => e.type === 'tx-begin' || e.type === 'tx-end';

/** The same classification with another hint (cached results are hint-free when keyed by shape). */
export function withHint(c: Classification, hint: RouteHint | null): Classification {
  if (c.hint === hint) return c;
  return Object.freeze({ ...c, hint });
}

const STATE_UNKNOWN: readonly SessionEffect[] = Object.freeze([Object.freeze({ type: 'state-unknown' as const })]);

/**
 * A statement too long to parse on the event loop (limits.max_parse_bytes): a write, and what it
 * does to the session is unknown (it stays on its backend, as after set_config(…, false)).
 */
export function unparsedClassification(bytes: number, limit: number): Classification {
  return freeze(
    'write',
    true,
    false,
    null,
    STATE_UNKNOWN,
    EMPTY_FUNCTIONS,
    1,
    false,
    false,
    true,
    false,
    `statement of ${bytes} bytes is above limits.max_parse_bytes (${limit}): not parsed, routed as a write, session effects unknown`,
  );
}

/** The same classification as a write (e.g. text whose meaning depends on server settings). */
export function asWrite(c: Classification, reason: string): Classification {
  if (c.isWrite) return c;
  return Object.freeze({ ...c, class: c.class === 'read' ? 'write' : c.class, isWrite: true, reason });
}

function freeze(
  cls: StatementClass,
  isWrite: boolean,
  readOnly: boolean,
  hint: RouteHint | null,
  effects: readonly SessionEffect[],
  functions: readonly string[],
  statements: number,
  ordered: boolean,
  onlyMeridianSettings: boolean,
  resetsBackend: boolean,
  isPlainDml: boolean,
  reason: string,
): Classification {
  // One literal shape for every Classification keeps property access monomorphic.
  return Object.freeze({
    class: cls,
    isWrite,
    readOnly,
    hint,
    effects,
    functions,
    statements,
    ordered,
    onlyMeridianSettings,
    resetsBackend,
    isPlainDml,
    reason,
  });
}

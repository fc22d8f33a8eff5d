// The relations a request reads, for routing it away from logical subscribers that hold one of
// them without replicating it (router/route-index.ts withoutUnreplicated): the statements of its
// Query, Parse and Bind frames (a Bind's statement from the session's prepared statements) and
// of the SQL-level prepared statements it EXECUTEs, each name expanded over the session's
// search_path. A statement whose relations cannot be known (it does not parse, or names a
// statement the session does not have) yields UNKNOWN_RELATION, which no partial subscriber serves.

import { candidateNames, searchPathOf } from '../classify/relations.js';
import type { Classification } from '../classify/types.js';
import { FrontendCode } from '../protocol/codes.js';
import { querySql, readBindStatement, readParse } from '../protocol/messages.js';
import { UNKNOWN_RELATION } from '../router/route-index.js';
import type { FrameList } from './frame-list.js';
import type { SessionState } from './session-state.js';

type RelationsOf = (sql: string) => readonly string[] | null;

/** `users`: the names "$user" may stand for (the client's and its backend user). */
export function requestRelations(
  list: FrameList,
  cls: readonly (Classification | null)[],
  state: SessionState,
  users: readonly string[],
  relationsOf: RelationsOf,
): readonly string[] {
  const names: string[] = [];
  let isUnknown = false;
  const add = (sql: string | null): void => {
    const r = sql === null ? null : relationsOf(sql);
    if (r === null) isUnknown = true;
    else for (const n of r) names.push(n);
  };
  let parsed = null as string[] | null; // statements parsed in this request: their Binds add nothing more
  for (let i = 0; i < list.length; i++) {
    const code = list.codes[i]!;
    const buf = list.bufs[i]!;
    if (code === FrontendCode.Query) add(querySql(buf, list.starts[i]!, list.ends[i]!));
    else if (code === FrontendCode.Parse) {
      const p = readParse(buf, list.starts[i]!, list.ends[i]!);
      add(p.sql);
      (parsed ??= []).push(p.name);
    } else if (code === FrontendCode.Bind) {
      const name = readBindStatement(buf, list.starts[i]!, list.ends[i]!).name;
      if (parsed?.includes(name) === true) continue;
      const frame = name === '' ? (state.unnamed?.parseFrame ?? null) : (state.stmts.get(name)?.parseFrame ?? null);
      add(frame === null ? null : readParse(frame, 0, frame.length).sql);
    }
    for (const e of cls[i]?.effects ?? []) if (e.type === 'execute') add(state.sqlStmts.get(e.name)?.sql ?? null);
  }
  if (isUnknown) return [UNKNOWN_RELATION];
  if (names.length === 0) return names;
  const path = searchPathOf(state.settings.get('search_path'));
  const out: string[] = [];
  for (const u of users) for (const n of candidateNames(names, path, u)) if (!out.includes(n)) out.push(n);
  return out;
}

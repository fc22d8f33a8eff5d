// What dispatch needs to know about a request before routing it: the classification of each
// frame (kept for sending), whether anything in it must run on a master, the statement hint, the
// SQL-level prepared statements it EXECUTEs or PREPAREs, and whether Meridian answers it alone
// (SET meridian.route …). The plan is the Request's (reused): nothing allocated per request
// beyond the name lists a request with SQL-level statements needs.

import type { Classification, RouteHint, SessionEffect } from '../classify/types.js';
import { Errors, type MeridianError } from '../errors.js';
import { FrontendCode } from '../protocol/codes.js';
import { commandComplete, dataRow, rowDescription } from '../protocol/encode.js';
import { querySql, readBindStatement, readParse } from '../protocol/messages.js';
import type { FrameList } from './frame-list.js';
import type { RequestPlan } from './request.js';
import type { SessionState } from './session-state.js';
import type { MeridianSettingsHost } from './types.js';

/** Class of a named statement the session prepared (protocol level), or null if unknown. */
export function statementClassFor(state: SessionState, name: string): Classification | null {
  if (name === '') return state.unnamed?.cls ?? null;
  return state.stmts.get(name)?.cls ?? null;
}

/** Classifies every frame of `list` into `cls` and sums them up into `plan`. */
export function planRequest(
  ctx: { classify(sql: string): Classification },
  state: SessionState,
  list: FrameList,
  cls: (Classification | null)[],
  plan: RequestPlan,
): void {
  let isWrite = false;
  let hint: RouteHint | null = null;
  let onlyMeridian = true;
  let needSql: string[] | null = null;
  let willPrepare: string[] | null = null;
  let unnamedCls: Classification | null = null;
  let namedParse: string | null = null; // the last named statement parsed in this request
  let namedCls: Classification | null = null;
  for (let i = 0; i < list.length; i++) {
    const code = list.codes[i]!;
    let c: Classification | null = null;
    if (code === FrontendCode.Query) c = ctx.classify(querySql(list.bufs[i]!, list.starts[i]!, list.ends[i]!));
    else if (code === FrontendCode.Parse) {
      const p = readParse(list.bufs[i]!, list.starts[i]!, list.ends[i]!);
      c = ctx.classify(p.sql);
      if (p.name === '') unnamedCls = c;
      else {
        namedParse = p.name;
        namedCls = c;
      }
    } else if (code === FrontendCode.Bind) {
      const name = readBindStatement(list.bufs[i]!, list.starts[i]!, list.ends[i]!).name;
      c = name === '' ? (unnamedCls ?? state.unnamed?.cls ?? null) : name === namedParse ? namedCls : statementClassFor(state, name);
    } else if (code === FrontendCode.FunctionCall) isWrite = true;
    cls[i] = c;
    if (c === null) continue;
    if (c.isWrite) isWrite = true;
    if (hint === null) hint = c.hint;
    if (!c.onlyMeridianSettings) onlyMeridian = false;
    for (const e of c.effects) {
      if (e.type === 'execute') {
        // A Parse and its Bind in one request both carry the statement's effects: once each name.
        if (!(needSql ??= []).includes(e.name)) needSql.push(e.name);
        const st = state.sqlStmts.get(e.name);
        if (st === undefined || st.isWrite) isWrite = true;
      } else if (e.type === 'prepare' && !(willPrepare ??= []).includes(e.name)) willPrepare.push(e.name);
      // DEALLOCATE of the session's own statement needs it on the backend (else 26000 there).
      else if (e.type === 'deallocate' && e.name !== null && !(needSql ??= []).includes(e.name)) needSql.push(e.name);
    }
  }
  plan.isWrite = isWrite;
  plan.hint = hint;
  plan.onlyMeridian = onlyMeridian;
  plan.needSql = needSql;
  plan.willPrepare = willPrepare;
}

/**
 * A Query of Meridian's own settings only (SET [LOCAL] meridian.route, SET meridian.read_your_writes,
 * their RESETs): answered without a server. A bad value refuses the whole Query (22023; SET LOCAL
 * meridian.read_your_writes: 0A000) and changes nothing, as the implicit transaction of a failed
 * Query would on a server: the error is returned, for the caller to fail the request with.
 */
export function answerMeridianSettings(s: MeridianSettingsHost, list: FrameList): MeridianError | null {
  const c = s.ctx.classify(querySql(list.bufs[0]!, list.starts[0]!, list.ends[0]!));
  const err = refusalOf(s, c.effects);
  if (err !== null) return err; // inside a block Meridian opened, this fails it
  list.clear();
  let n = 0;
  for (const e of c.effects) {
    if (e.type === 'show-meridian') {
      s.out.frame(rowDescription([{ name: e.name.slice('meridian.'.length) }]));
      s.out.frame(dataRow([s.meridianSettingText(e.name)]));
      s.out.frame(commandComplete('SHOW'));
      n++;
    } else if (s.state.applyMeridianSetting(e)) {
      s.out.frame(commandComplete('SET'));
      n++;
    }
  }
  if (n === 0) s.out.frame(commandComplete('SET'));
  s.out.frame(s.readyForQueryNow());
  return null;
}

function refusalOf(s: MeridianSettingsHost, effects: readonly SessionEffect[]): MeridianError | null {
  for (const e of effects) {
    if (e.type === 'causal-token') {
      if (e.isLocal) return Errors.featureNotSupported('SET LOCAL meridian.causal_token is not supported: use SET (for the session)');
      const problem = e.token === null || e.token.trim() === '' ? null : s.causalTokenProblem(e.token);
      if (problem !== null) return Errors.invalidParameter(`invalid value for parameter "meridian.causal_token": ${problem}`);
      continue;
    }
    if (e.type === 'route-hint' && e.invalidValue !== undefined) {
      return Errors.invalidParameter(`invalid value for parameter "meridian.route": "${e.invalidValue}" (expected master, replica, node=NAME or default)`);
    }
    if (e.type !== 'read-your-writes') continue;
    if (e.invalidValue !== undefined)
      return Errors.invalidParameter(`invalid value for parameter "meridian.read_your_writes": "${e.invalidValue}" (expected on or off)`);
    if (e.isLocal) return Errors.featureNotSupported('SET LOCAL meridian.read_your_writes is not supported: use SET (for the session)');
  }
  return null;
}

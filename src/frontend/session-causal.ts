// A session's causal tokens (router/causal-token.ts): the token of its last write acknowledged
// outside a transaction (SHOW meridian.causal_token, the ParameterStatus when
// routing.report_causal_token is on) and the write mark of the token it presented (SET
// meridian.causal_token, the startup option), decoded once per value. Pure state; the session
// does the I/O.

import { decodeCausalToken, encodeCausalToken } from '../router/causal-token.js';
import type { WriteMark } from '../router/types.js';

export class SessionCausal {
  /** The token of the session's last write acknowledged outside a transaction. */
  private lastToken: string | null = null;
  /** The presented token's text and its mark (null once every node had the write, or when it no longer decodes). */
  private presentedText: string | null = null;
  private presentedMark: WriteMark | null = null;

  /** A write committed on `node`: returns its token. */
  wrote(node: string, atMs: number): string {
    this.lastToken = encodeCausalToken({ node, atMs });
    return this.lastToken;
  }

  /** SHOW meridian.causal_token: the last write's token, else the one presented, else ''. */
  shown(presented: string | null): string {
    return this.lastToken ?? presented ?? '';
  }

  /**
   * The write a read must follow for the presented token `text` (the session's current value), or
   * null. Decoded when the value changes; a token naming a node a reload removed no longer binds.
   */
  markFor(text: string | null, nodes: () => readonly string[], nowMs: number): WriteMark | null {
    if (text !== this.presentedText) {
      this.presentedText = text;
      const d = text === null ? null : decodeCausalToken(text, nodes(), nowMs);
      this.presentedMark = d?.ok === true ? d.mark : null;
    }
    return this.presentedMark;
  }

  /** The presented write is on every node (or past max_read_lag): it binds no more read. */
  satisfied(): void {
    this.presentedMark = null;
  }
}

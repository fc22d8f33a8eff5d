// HTTP to Patroni's REST API: GET /cluster and POST /switchover, each under one deadline that
// covers connecting, the headers and the whole body, with the body capped (a hostile or broken API
// can neither hang Meridian nor fill its memory). Failures are values, never exceptions. Only the
// poller (patroni-poller.ts) and SWITCHOVER TO (patroni-source.ts) call it.

/** A /cluster answer of a handful of members is a few kB; anything near this is not Patroni. */
export const MAX_BODY_BYTES = 1024 * 1024;

export type HttpResult = { readonly ok: true; readonly status: number; readonly body: string } | { readonly ok: false; readonly error: string };

async function readCapped(res: Response, maxBytes: number): Promise<string | null> {
  const reader = res.body?.getReader();
  if (reader === undefined) return '';
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => undefined);
      return null;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function describeFailure(err: unknown, timeoutMs: number, timedOut: boolean): string {
  if (timedOut) return `no answer within ${timeoutMs} ms`;
  const cause = (err as { cause?: { code?: string; message?: string } } | null)?.cause;
  if (cause?.code !== undefined) return cause.code;
  return err instanceof Error ? err.message : String(err);
}

/** One request: the status and body text, or why there is none (timeout, refused, body too large). */
export async function patroniRequest(
  url: string,
  timeoutMs: number,
  init: { method: 'GET' | 'POST'; json?: unknown } = { method: 'GET' },
): Promise<HttpResult> {
  const ctl = new AbortController();
  let timedOut = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  // The deadline races the whole exchange: an API that sends headers and then stalls the body still ends here.
  const deadline = new Promise<HttpResult>((resolve) => {
    timer = setTimeout(() => {
      timedOut = true;
      ctl.abort();
      resolve({ ok: false, error: `no answer within ${timeoutMs} ms` });
    }, timeoutMs);
  });
  const exchange = (async (): Promise<HttpResult> => {
    try {
      const res = await fetch(url, {
        method: init.method,
        signal: ctl.signal,
        redirect: 'error',
        headers: init.json !== undefined ? { 'content-type': 'application/json', accept: 'application/json' } : { accept: 'application/json' },
        body: init.json !== undefined ? JSON.stringify(init.json) : undefined,
      });
      const body = await readCapped(res, MAX_BODY_BYTES);
      if (body === null) return { ok: false, error: `body larger than ${MAX_BODY_BYTES} bytes` };
      return { ok: true, status: res.status, body };
    } catch (err) {
      return { ok: false, error: describeFailure(err, timeoutMs, timedOut) };
    }
  })();
  try {
    return await Promise.race([exchange, deadline]);
  } finally {
    clearTimeout(timer);
    if (timedOut) exchange.catch(() => undefined);
  }
}

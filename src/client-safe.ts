// What a client may be told about a failure toward a node: the node's name and a short reason,
// never its host, address or port (internal topology). The full text goes to the log. Pure.
// Used by the error catalogue (errors.ts) for every message built from a socket or probe error.

/** Node/libuv error codes and the phrase a client sees for each. */
const CODE_PHRASES: ReadonlyArray<readonly [RegExp, string]> = [
  [/\bECONNREFUSED\b/, 'connection refused'],
  [/\bECONNRESET\b/, 'connection reset'],
  [/\bEPIPE\b/, 'connection closed'],
  [/\bETIMEDOUT\b/, 'connect timed out'],
  [/\bEHOSTUNREACH\b/, 'host unreachable'],
  [/\bENETUNREACH\b/, 'network unreachable'],
  [/\b(ENOTFOUND|EAI_AGAIN|EAI_NONAME)\b/, 'host name not resolved'],
  [/\b(EMFILE|ENFILE)\b/, 'too many open files on the proxy'],
  [/\bEADDRNOTAVAIL\b/, 'no local address available'],
  // TLS verification texts quote the node's host name and certificate names.
  [/ERR_TLS_CERT_ALTNAME_INVALID|does not match certificate's altnames/i, "the node's certificate does not match its host name"],
  [/self[- ]signed certificate|unable to (get|verify)|UNABLE_TO_VERIFY|CERT_HAS_EXPIRED|certificate has expired/i, "the node's certificate is not trusted"],
];

const ADDRESS = '[node address]';
const IPV4 = /\b(?:\d{1,3}\.){3}\d{1,3}(?::\d{1,5})?\b/g;
const BRACKETED_IPV6 = /\[[0-9a-f:.%\w]*:[0-9a-f:.%\w]*\](?::\d{1,5})?/gi;
const BARE_IPV6 = /(?<![\w:])(?:[0-9a-f]{0,4}:){2,7}[0-9a-f]{0,4}(?![\w:])/gi;
const HOST_PORT = /\b[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*:\d{2,5}\b/gi;
const UNIX_SOCKET = /\/\S*\.s\.PGSQL\.\d+/g;
/** Node's TLS host-name check: "Host: pg1.corp. is not in the cert's altnames: DNS:pg1, IP Address:10.0.0.5". */
const TLS_NAMES = /\b(Host: |DNS:|IP Address:)[^\s,)]+/g;

/** Replaces every address-like part (IPv4/IPv6, host:port, unix socket path) of a text. */
export function redactAddresses(text: string): string {
  return text
    .replace(UNIX_SOCKET, ADDRESS)
    .replace(TLS_NAMES, `$1${ADDRESS}`)
    .replace(BRACKETED_IPV6, ADDRESS)
    .replace(IPV4, ADDRESS)
    .replace(BARE_IPV6, (m) => ((m.replace(/[^:]/g, '').length >= 2 && /[0-9a-f]/i.test(m)) || m === '::' ? ADDRESS : m))
    .replace(HOST_PORT, ADDRESS);
}

/**
 * The client-facing form of a low-level failure text ("connect ECONNREFUSED 10.0.0.5:5432" →
 * "connection refused"): a known socket error code becomes its phrase, anything else keeps its
 * words with every address replaced.
 */
export function clientSafeReason(why: string): string {
  for (const [re, phrase] of CODE_PHRASES) if (re.test(why)) return phrase;
  return redactAddresses(why);
}

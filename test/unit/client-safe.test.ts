// Issue 14: error messages to clients name the node, never its address; the log keeps it.
import { describe, expect, it } from 'vitest';
import { clientSafeReason, redactAddresses } from '../../src/client-safe.js';
import { Errors, logText } from '../../src/errors.js';

describe('client-safe errors', () => {
  it('a connect error becomes its phrase: node name only', () => {
    const e = Errors.cannotConnect('dublin', 'connect ECONNREFUSED 10.0.0.5:5432');
    expect(e.message).toBe('could not connect to node "dublin": connection refused');
    expect(e.message).not.toMatch(/10\.0\.0\.5|5432/);
    expect(logText(e)).toContain('connect ECONNREFUSED 10.0.0.5:5432');
  });

  it.each([
    ['connect ETIMEDOUT 192.168.7.20:6432', 'connect timed out'],
    ['getaddrinfo ENOTFOUND pg-eu-1.corp.internal', 'host name not resolved'],
    ['connect EHOSTUNREACH [fd00::17]:5432', 'host unreachable'],
    ['socket error: read ECONNRESET', 'connection reset'],
    ['server closed the connection', 'server closed the connection'],
    [
      "TLS: Hostname/IP does not match certificate's altnames: Host: pg1.corp. is not in the cert's altnames: DNS:x",
      "the node's certificate does not match its host name",
    ],
    ['TLS: self-signed certificate in certificate chain', "the node's certificate is not trusted"],
  ])('%s → %s', (why, phrase) => {
    expect(clientSafeReason(why)).toBe(phrase);
  });

  it('other texts keep their words, lose every address', () => {
    expect(redactAddresses('TLS to pg-eu-1.corp.internal:5432 failed; also 10.0.0.5 and [fd00::17]:5432, fd00::18 and /run/postgresql/.s.PGSQL.5432')).toBe(
      'TLS to [node address] failed; also [node address] and [node address], [node address] and [node address]',
    );
    expect(redactAddresses('no node eligible for reads: n1 lag 6000 ms exceeds max_read_lag 5000 ms, n2 lag unknown')).toBe(
      'no node eligible for reads: n1 lag 6000 ms exceeds max_read_lag 5000 ms, n2 lag unknown',
    );
  });

  it('a TLS host-name mismatch in a refusal keeps its words, not the names', () => {
    expect(
      redactAddresses(
        "n1 down (2 failed probes: Hostname/IP does not match certificate's altnames: Host: pg1.corp. is not in the cert's altnames: DNS:pg1.corp, IP Address:10.0.0.5)",
      ),
    ).toBe(
      "n1 down (2 failed probes: Hostname/IP does not match certificate's altnames: Host: [node address] is not in the cert's altnames: DNS:[node address], IP Address:[node address])",
    );
  });

  it('lost backends, refusals and residency refusals are cut the same way', () => {
    expect(Errors.backendLost('n1', 'socket error: connect ECONNREFUSED 127.0.0.1:5501').message).toBe(
      'server connection to node "n1" was lost: connection refused',
    );
    expect(Errors.backendLostInRequest('n1', 'socket error: write EPIPE').message).toMatch(/lost during the request: connection closed$/);
    const r = Errors.noRoute('no healthy master: n1 down (2 failed probes: connect ENETUNREACH 10.9.8.7:5432), n2 draining');
    expect(r.message).toBe('no healthy master: n1 down (2 failed probes: connect ENETUNREACH [node address]), n2 draining');
    expect(r.internal).toContain('10.9.8.7:5432');
    expect(Errors.residencyRefused('eu', 'n1 down (connect EHOSTUNREACH 10.0.0.9:5432)').message).not.toContain('10.0.0.9');
    expect(Errors.noRoute('no node eligible for reads: n1 lag unknown').internal).toBeNull();
  });
});

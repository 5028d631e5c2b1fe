// The verdicts of mailauth's own `authenticate` (ARC and BIMI off), the oracle for local
// mode's authenticator, which composes mailauth's three checks itself.
import { Resolver } from 'node:dns/promises';
import { authenticate } from 'mailauth';
import { dkimVerdict, dmarcVerdict, spfVerdict } from '../../lambdas/adapters/local/mailauth-authenticator.ts';
import type { AuthenticationVerdicts } from '../../lambdas/core/authentication.ts';
import type { SmtpArrival } from '../../lambdas/ports/mail-authenticator.ts';

/** Asks the DNS server at `dnsAddress` (`host:port`), as the authenticator under test does. */
export function mailauthsOwnVerdicts(dnsAddress: string, mta: string) {
  const resolver = new Resolver({ timeout: 2_000, tries: 1 });
  resolver.setServers([dnsAddress]);
  return async (message: Buffer, arrival: SmtpArrival): Promise<AuthenticationVerdicts> => {
    const theirs = await authenticate(message, {
      ip: arrival.clientAddress,
      helo: arrival.helo,
      sender: arrival.envelopeFrom,
      mta,
      resolver: (name: string, rrtype: string) => resolver.resolve(name, rrtype) as Promise<string[][] | string[]>,
      disableArc: true,
      disableBimi: true,
    });
    return { spf: spfVerdict(theirs.spf), dkim: dkimVerdict(theirs.dkim), dmarc: dmarcVerdict(theirs.dmarc) };
  };
}

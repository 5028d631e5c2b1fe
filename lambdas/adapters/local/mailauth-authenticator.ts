// Local mode's stand-in for SES's SPF, DKIM and DMARC checks: mailauth (a maintained
// implementation of RFC 7208, 6376 and 7489) over the raw message with the SMTP client's
// address, HELO and MAIL FROM, mapped to the verdicts SES reports
// (https://docs.aws.amazon.com/ses/latest/dg/receiving-email-notifications-contents.html).
// DNS goes to the resolver given (a test's own server) or the system's.
import { Resolver } from 'node:dns/promises';
import { createRequire } from 'node:module';
import { isIP } from 'node:net';
import { hostname } from 'node:os';
import type { Readable } from 'node:stream';
import type { DKIMVerifyResult, DMARCResult, dkimVerify, dmarc, SPFResult, spf } from 'mailauth';
import type { AuthenticationVerdicts } from '../../core/authentication.ts';
import type { VerdictStatus } from '../../core/model.ts';
import type { MailAuthenticator, SmtpArrival } from '../../ports/mail-authenticator.ts';
import { cachedDnsResolve, type DnsResolve } from './dns-answer-cache.ts';
import { installFastHeaderScan } from './mailauth-header-scan.ts';

export interface MailauthAuthenticatorOptions {
  /** DNS servers (`host` or `host:port`); the system's when absent. */
  dnsServers?: string[];
  /** Per DNS query; one try each, so a dead resolver costs little. */
  dnsTimeoutMs?: number;
  /** For the whole check: the SMTP client waits for its 250 meanwhile. */
  deadlineMs?: number;
  /** Our host name in the Authentication-Results mailauth builds (unused otherwise). */
  mta?: string;
}

// mailauth's three checks, each from its own module. Its `authenticate` loads them with ARC
// sealing, BIMI (and undici, for BIMI's certificate fetches) and DKIM signing: ~5 MB of heap
// and ~10 MB of memory a local process never uses (bench/README.md, issue 18). No `exports`
// map closes these paths; a test reads verdicts through them on every upgrade.
const requireMailauth = createRequire(import.meta.url);
const checks = {
  dkimVerify: (requireMailauth('mailauth/lib/dkim/verify.js') as { dkimVerify: typeof dkimVerify }).dkimVerify,
  spf: (requireMailauth('mailauth/lib/spf/index.js') as { spf: typeof spf }).spf,
  dmarc: (requireMailauth('mailauth/lib/dmarc/index.js') as { dmarc: typeof dmarc }).dmarc,
};

const FAILED: AuthenticationVerdicts = { spf: 'PROCESSING_FAILED', dkim: 'PROCESSING_FAILED', dmarc: 'PROCESSING_FAILED' };

export class MailauthAuthenticator implements MailAuthenticator {
  private readonly resolve: DnsResolve;
  private readonly deadlineMs: number;
  private readonly mta: string;

  constructor(options: MailauthAuthenticatorOptions = {}) {
    const resolver = new Resolver({ timeout: options.dnsTimeoutMs ?? 3_000, tries: 1 });
    if (options.dnsServers?.length) resolver.setServers(options.dnsServers);
    this.resolve = cachedDnsResolve((name, rrtype) => resolver.resolve(name, rrtype));
    this.deadlineMs = options.deadlineMs ?? 20_000;
    this.mta = options.mta ?? hostname();
    installFastHeaderScan();
  }

  async authenticate(message: Readable | Buffer, arrival: SmtpArrival): Promise<AuthenticationVerdicts> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'deadline'>((resolve) => {
      timer = setTimeout(() => resolve('deadline'), this.deadlineMs);
    });
    try {
      const result = await Promise.race([this.check(Buffer.isBuffer(message) ? whatMailauthReads(message) : message, arrival), deadline]);
      if (result === 'deadline') {
        if (!Buffer.isBuffer(message)) message.destroy();
        return FAILED;
      }
      return result;
    } catch {
      // A message mailauth cannot read is still mail: it is taken, with nothing judged.
      return FAILED;
    } finally {
      clearTimeout(timer);
    }
  }

  /** mailauth's `authenticate` without ARC and BIMI, as its lib/mailauth.js composes the checks. */
  private async check(input: Readable | Buffer, arrival: SmtpArrival): Promise<AuthenticationVerdicts> {
    const resolver = (name: string, rrtype: string) => this.resolve(name, rrtype) as Promise<string[][] | string[]>;
    const dkimResult = await checks.dkimVerify(input, { resolver, sender: arrival.envelopeFrom });
    const helo = arrival.helo || arrival.clientAddress;
    const spfResult = await checks.spf({
      ip: arrival.clientAddress,
      helo: isIP(helo) ? `[${helo}]` : helo,
      sender: arrival.envelopeFrom,
      mta: this.mta,
      resolver,
    });
    const dmarcResult = dkimResult.headerFrom
      ? await checks.dmarc({
          headerFrom: dkimResult.headerFrom,
          spfDomains: spfResult.status.result === 'pass' && spfResult.domain ? [spfResult.domain] : [],
          dkimDomains: (dkimResult.results ?? [])
            .filter((row) => row.status.result === 'pass')
            .map((row) => ({ id: row.id, domain: row.signingDomain, aligned: row.status.aligned, underSized: row.status.underSized })),
          resolver,
        })
      : false;
    return { spf: spfVerdict(spfResult), dkim: dkimVerdict(dkimResult), dmarc: dmarcVerdict(dmarcResult) };
  }
}

/**
 * The part of a message mailauth needs: the whole message when its header carries a DKIM
 * or ARC signature (the body is hashed for it), else the header block alone. SPF looks at
 * the SMTP arrival, DMARC at From and the DKIM results, so an unsigned message's body
 * changes no verdict, and mailauth would still read it a byte at a time in JavaScript
 * (~0.2 ms for a 47 KB message). The header block ends where mailauth's parser ends it: at
 * the first LF followed by LF or CRLF.
 */
export function whatMailauthReads(raw: Buffer): Buffer {
  const end = headerBlockEnd(raw);
  if (end === null) return raw;
  const head = raw.subarray(0, end);
  return SIGNATURE_FIELD.test(head.toString('latin1')) ? raw : head;
}

// Any mention counts (a false match only costs the full read): mailauth verifies
// DKIM-Signature fields and, with an ARC chain, the newest ARC-Message-Signature and ARC-Seal.
const SIGNATURE_FIELD = /dkim-signature|arc-message-signature|arc-seal/i;

/** Offset just past the blank line that ends the header block, or null when there is none. */
function headerBlockEnd(raw: Buffer): number | null {
  const lf = raw.indexOf('\n\n');
  const crlf = raw.indexOf('\n\r\n');
  if (lf === -1 && crlf === -1) return null;
  if (crlf === -1 || (lf !== -1 && lf < crlf)) return lf + 2;
  return crlf + 3;
}

/**
 * SES: PASS, FAIL, GRAY (no SPF policy), PROCESSING_FAILED. A softfail (`~all`) counts as FAIL:
 * the domain says the host is probably not allowed, and the reader should look twice.
 */
export function spfVerdict(spf: SPFResult | false | undefined): VerdictStatus {
  switch (spf ? spf.status.result : 'none') {
    case 'pass':
      return 'PASS';
    case 'fail':
    case 'softfail':
      return 'FAIL';
    case 'temperror':
    case 'temperr':
    case 'permerror':
      return 'PROCESSING_FAILED';
    default:
      return 'GRAY';
  }
}

/**
 * One valid signature is enough (RFC 6376 §6.1). mailauth calls a signature whose body hash
 * does not match, whose key is missing or invalid, or that expired "neutral", and a weak key
 * "policy": each is a signature that does not verify, FAIL in SES's terms. Unsigned is GRAY.
 */
export function dkimVerdict(dkim: DKIMVerifyResult | undefined): VerdictStatus {
  const results = (dkim?.results ?? []).map((row) => row.status.result);
  if (results.includes('pass')) return 'PASS';
  if (results.some((result) => ['fail', 'neutral', 'policy', 'permerror'].includes(result))) return 'FAIL';
  if (results.some((result) => result === 'temperror' || result === 'temperr')) return 'PROCESSING_FAILED';
  return 'GRAY';
}

/** SES: GRAY when the From domain publishes no DMARC policy (mailauth "none") or there is no From to check. */
export function dmarcVerdict(dmarc: DMARCResult | false | undefined): VerdictStatus {
  switch (dmarc ? dmarc.status.result : 'none') {
    case 'pass':
      return 'PASS';
    case 'fail':
      return 'FAIL';
    case 'temperror':
    case 'temperr':
    case 'permerror':
      return 'PROCESSING_FAILED';
    default:
      return 'GRAY';
  }
}

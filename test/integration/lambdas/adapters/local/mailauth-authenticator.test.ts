// Local mode's SPF, DKIM and DMARC checks (mailauth) against DNS the test controls
// (test/support/dns-server.ts), each with a pass and a fail, mapped to SES's verdicts.
import { generateKeyPairSync } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { Readable } from 'node:stream';
import { dkimSign } from 'mailauth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MailauthAuthenticator } from '../../../../../lambdas/adapters/local/mailauth-authenticator.ts';
import type { SmtpArrival } from '../../../../../lambdas/ports/mail-authenticator.ts';
import { type DnsServer, startDnsServer } from '../../../../support/dns-server.ts';
import { mailauthsOwnVerdicts } from '../../../../support/mailauth-oracle.ts';

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const PRIVATE_PEM = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const PUBLIC_B64 = publicKey.export({ type: 'spki', format: 'der' }).toString('base64');

let dns: DnsServer;
let authenticator: MailauthAuthenticator;

beforeAll(async () => {
  dns = await startDnsServer({
    mx: new Map(),
    cname: new Map(),
    txt: new Map([
      // partner.test: SPF allows 127.0.0.1 only, signs with selector "s1", DMARC reject.
      ['partner.test', ['v=spf1 ip4:127.0.0.1 -all']],
      ['s1._domainkey.partner.test', [`v=DKIM1; k=rsa; p=${PUBLIC_B64}`]],
      ['_dmarc.partner.test', ['v=DMARC1; p=reject']],
      // loose.test: SPF but no DMARC record.
      ['loose.test', ['v=spf1 ip4:127.0.0.1 -all']],
    ]),
  });
  authenticator = new MailauthAuthenticator({ dnsServers: [dns.address], dnsTimeoutMs: 2_000, mta: 'mx.corp.test' });
});
afterAll(async () => dns?.close());

function message(from: string, body = 'Please pay the attached invoice today.\r\n'): string {
  return [
    `From: ${from}`,
    'To: alice@corp.test',
    'Subject: Invoice',
    'Date: Fri, 20 Nov 2026 10:00:00 +0000',
    'Message-ID: <m1@partner.test>',
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    '',
    body,
  ].join('\r\n');
}

async function signed(raw: string, signingDomain = 'partner.test'): Promise<string> {
  // mailauth signs with the keys in signatureData (the top-level fields are its defaults for them).
  const signing = { signingDomain, selector: 's1', privateKey: PRIVATE_PEM };
  const { signatures, errors } = await dkimSign(raw, { ...signing, signatureData: [signing] });
  if (errors?.length || !signatures.includes('DKIM-Signature')) throw new Error(`not signed: ${String(errors)}`);
  return signatures + raw;
}

const fromPartnerHost: SmtpArrival = { clientAddress: '127.0.0.1', helo: 'mail.partner.test', envelopeFrom: 'bounce@partner.test' };
const fromElsewhere: SmtpArrival = { clientAddress: '192.0.2.66', helo: 'mail.evil.test', envelopeFrom: 'bounce@partner.test' };

const check = (raw: string, arrival: SmtpArrival) => authenticator.authenticate(Readable.from([Buffer.from(raw)]), arrival);
// Local mode hands a message of up to 256 KiB over as its bytes (whatMailauthReads picks what is read).
const checkBytes = (raw: string, arrival: SmtpArrival) => authenticator.authenticate(Buffer.from(raw), arrival);

describe('MailauthAuthenticator', () => {
  it('passes SPF, DKIM and DMARC for signed mail from the allowed host', async () => {
    expect(await check(await signed(message('Billing <billing@partner.test>')), fromPartnerHost)).toEqual({
      spf: 'PASS',
      dkim: 'PASS',
      dmarc: 'PASS',
    });
    expect(dns.questions).toEqual(
      expect.arrayContaining(['TXT partner.test', 'TXT s1._domainkey.partner.test', 'TXT _dmarc.partner.test']),
    );
  });

  it('fails SPF for a host the MAIL FROM domain does not allow (DKIM still carries DMARC)', async () => {
    expect(await check(await signed(message('billing@partner.test')), fromElsewhere)).toEqual({ spf: 'FAIL', dkim: 'PASS', dmarc: 'PASS' });
  });

  it('fails DKIM for a signed message altered on the way, and says GRAY for an unsigned one', async () => {
    const altered = (await signed(message('billing@partner.test'))).replace('the attached invoice', 'the invoice at https://evil.test/');
    expect((await check(altered, fromPartnerHost)).dkim).toBe('FAIL');
    expect((await check(message('billing@partner.test'), fromPartnerHost)).dkim).toBe('GRAY');
  });

  it('gives the same verdicts for a message as bytes: a signed one is still read whole, body and all', async () => {
    const good = await signed(message('Billing <billing@partner.test>'));
    expect(await checkBytes(good, fromPartnerHost)).toEqual({ spf: 'PASS', dkim: 'PASS', dmarc: 'PASS' });
    const altered = good.replace('the attached invoice', 'the invoice at https://evil.test/');
    expect(await checkBytes(altered, fromElsewhere)).toEqual({ spf: 'FAIL', dkim: 'FAIL', dmarc: 'FAIL' });
    expect(await checkBytes(message('billing@partner.test'), fromElsewhere)).toEqual({ spf: 'FAIL', dkim: 'GRAY', dmarc: 'FAIL' });
    expect(await checkBytes(message('info@loose.test'), { ...fromPartnerHost, envelopeFrom: 'info@loose.test' })).toEqual({
      spf: 'PASS',
      dkim: 'GRAY',
      dmarc: 'GRAY',
    });
  });

  it('fails DMARC for a From at a domain with a policy that neither SPF nor DKIM vouches for', async () => {
    // Signed by the attacker's own domain (no key published), from a host partner.test does not allow.
    expect(await check(await signed(message('CEO <ceo@partner.test>'), 'evil.test'), fromElsewhere)).toEqual({
      spf: 'FAIL',
      dkim: 'FAIL',
      dmarc: 'FAIL',
    });
  });

  it('says GRAY for DMARC when the From domain publishes no policy, and for SPF when the MAIL FROM domain has none', async () => {
    const noDmarc = await check(message('info@loose.test'), { ...fromPartnerHost, envelopeFrom: 'info@loose.test' });
    expect(noDmarc).toEqual({ spf: 'PASS', dkim: 'GRAY', dmarc: 'GRAY' });
    const noSpf = await check(message('info@unknown.test'), { ...fromPartnerHost, envelopeFrom: 'info@unknown.test' });
    expect(noSpf.spf).toBe('GRAY');
  });

  it("reaches the verdicts of mailauth's own authenticate, whose three checks it composes without ARC and BIMI", async () => {
    const mailauthsOwn = mailauthsOwnVerdicts(dns.address, 'mx.corp.test');
    const good = await signed(message('Billing <billing@partner.test>'));
    const cases: [string, SmtpArrival][] = [
      [good, fromPartnerHost],
      [good, fromElsewhere],
      [good.replace('the attached invoice', 'the invoice at https://evil.test/'), fromPartnerHost],
      [await signed(message('CEO <ceo@partner.test>'), 'evil.test'), fromElsewhere],
      [message('billing@partner.test'), { ...fromPartnerHost, helo: '127.0.0.1' }],
      [message('info@loose.test'), { ...fromPartnerHost, envelopeFrom: 'info@loose.test' }],
      [message('info@unknown.test'), { ...fromPartnerHost, envelopeFrom: 'info@unknown.test' }],
      ['Subject: no From at all\r\n\r\nhello\r\n', fromPartnerHost],
    ];
    const seen = new Set<string>();
    for (const [raw, arrival] of cases) {
      const expected = await mailauthsOwn(Buffer.from(raw), arrival);
      expect(await checkBytes(raw, arrival)).toEqual(expected);
      for (const [check, verdict] of Object.entries(expected)) seen.add(`${check} ${verdict}`);
    }
    // The cases reach each verdict of each check that DNS can give here.
    expect([...seen].sort()).toEqual(
      ['dkim FAIL', 'dkim GRAY', 'dkim PASS', 'dmarc FAIL', 'dmarc GRAY', 'dmarc PASS', 'spf FAIL', 'spf GRAY', 'spf PASS'].sort(),
    );
  });

  it('reports PROCESSING_FAILED, quickly and without throwing, when DNS does not answer', async () => {
    const silent = new MailauthAuthenticator({ dnsServers: ['127.0.0.1:9'], dnsTimeoutMs: 300, deadlineMs: 5_000 });
    const started = Date.now();
    const verdicts = await silent.authenticate(Readable.from([Buffer.from(message('billing@partner.test'))]), fromPartnerHost);
    expect(verdicts.spf).toBe('PROCESSING_FAILED');
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('gives up at its deadline when DNS swallows the questions, so the SMTP client gets its answer', async () => {
    const blackHole = createSocket('udp4');
    await new Promise<void>((resolve) => blackHole.bind(0, '127.0.0.1', resolve));
    try {
      const stalled = new MailauthAuthenticator({
        dnsServers: [`127.0.0.1:${blackHole.address().port}`],
        dnsTimeoutMs: 10_000,
        deadlineMs: 500,
      });
      const started = Date.now();
      const verdicts = await stalled.authenticate(Readable.from([Buffer.from(message('billing@partner.test'))]), fromPartnerHost);
      expect(verdicts).toEqual({ spf: 'PROCESSING_FAILED', dkim: 'PROCESSING_FAILED', dmarc: 'PROCESSING_FAILED' });
      expect(Date.now() - started).toBeLessThan(3_000);
    } finally {
      blackHole.close();
    }
  });
});

// Local mode as `npm start` runs it judges SPF, DKIM and DMARC itself (SES does in AWS),
// against the DNS server SHADOWMAIL_DNS_SERVERS names (here the test's own), and files the
// same verdicts and warnings as ingest does from an SES notification.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DnsServer, startDnsServer } from '../../../support/dns-server.ts';
import { type LocalWebmail, startLocalWebmail } from '../../../support/local-webmail.ts';

let dns: DnsServer;
let local: LocalWebmail;

beforeAll(async () => {
  dns = await startDnsServer({
    mx: new Map(),
    cname: new Map(),
    txt: new Map([
      ['partner.test', ['v=spf1 ip4:127.0.0.1 -all']],
      ['_dmarc.partner.test', ['v=DMARC1; p=reject']],
      ['strict.test', ['v=spf1 ip4:192.0.2.1 -all']],
      ['_dmarc.strict.test', ['v=DMARC1; p=reject']],
    ]),
  });
  local = await startLocalWebmail({ SHADOWMAIL_DNS_SERVERS: dns.address });
}, 90_000);
afterAll(async () => {
  await local?.close();
  await dns?.close();
});

const raw = (from: string) => `From: ${from}\r\nTo: alice@corp.test\r\nSubject: Invoice\r\n\r\nPlease pay today.\r\n`;

describe('local mode: authentication results', () => {
  it('passes mail from a host the sender domain allows, and warns about a failed check and a forged own domain', async () => {
    // Act
    const clean = await local.deliver(raw('billing@partner.test'), ['alice@corp.test'], 'bounce@partner.test');
    const spfFail = await local.deliver(raw('billing@strict.test'), ['alice@corp.test'], 'bounce@strict.test');
    const forged = await local.deliver(raw('CEO <ceo@corp.test>'), ['alice@corp.test'], 'ceo@corp.test');

    // Assess
    const now = new Date();
    const verdictsOf = async (id: string) => (await local.index.getMessage(id, now))?.verdicts;
    const warningsOf = async (id: string) => (await local.index.getMailboxEntry('alice@corp.test', id, now))?.authWarnings;
    expect(await verdictsOf(clean)).toMatchObject({ spf: 'PASS', dkim: 'GRAY', dmarc: 'PASS' });
    expect(await warningsOf(clean)).toEqual([]);
    expect(await verdictsOf(spfFail)).toMatchObject({ spf: 'FAIL', dmarc: 'FAIL' });
    expect(await warningsOf(spfFail)).toEqual(['spf', 'dmarc']);
    expect(await warningsOf(forged)).toEqual(['own-domain']);
    expect(dns.questions).toEqual(expect.arrayContaining(['TXT partner.test', 'TXT _dmarc.partner.test', 'TXT strict.test']));
  });
});

// Local mode's authenticator over every message of the third-party corpus
// (../shared/corpus): handed the message's bytes (whatMailauthReads may give mailauth
// the header block alone) it must reach the verdicts mailauth reaches over the whole
// message as a stream, for each message as it is and for it DKIM-signed by a domain
// whose key and policies the test's DNS server publishes; and those are the verdicts of
// mailauth's own `authenticate` (the adapter composes its checks without ARC and BIMI).
import { generateKeyPairSync } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Readable } from 'node:stream';
import { dkimSign } from 'mailauth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MailauthAuthenticator, whatMailauthReads } from '../../lambdas/adapters/local/mailauth-authenticator.ts';
import type { SmtpArrival } from '../../lambdas/ports/mail-authenticator.ts';
import { CORPUS_ROOT, readCorpusManifest } from '../support/corpus.ts';
import { type DnsServer, startDnsServer } from '../support/dns-server.ts';
import { mailauthsOwnVerdicts } from '../support/mailauth-oracle.ts';

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signing = {
  signingDomain: 'partner.test',
  selector: 's1',
  privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
};
const arrival: SmtpArrival = { clientAddress: '127.0.0.1', helo: 'mail.partner.test', envelopeFrom: 'bounce@partner.test' };

const rows = readCorpusManifest();
let dns: DnsServer;
let authenticator: MailauthAuthenticator;
let mailauthsOwn: ReturnType<typeof mailauthsOwnVerdicts>;

beforeAll(async () => {
  dns = await startDnsServer({
    mx: new Map(),
    cname: new Map(),
    txt: new Map([
      ['partner.test', ['v=spf1 ip4:127.0.0.1 -all']],
      ['s1._domainkey.partner.test', [`v=DKIM1; k=rsa; p=${publicKey.export({ type: 'spki', format: 'der' }).toString('base64')}`]],
      ['_dmarc.partner.test', ['v=DMARC1; p=reject']],
    ]),
  });
  authenticator = new MailauthAuthenticator({ dnsServers: [dns.address], dnsTimeoutMs: 2_000, mta: 'mx.corp.test' });
  mailauthsOwn = mailauthsOwnVerdicts(dns.address, 'mx.corp.test');
});
afterAll(async () => dns?.close());

describe('mailauth verdicts over the corpus: the bytes as handed over against the whole message', () => {
  const cut: string[] = [];
  const passed: string[] = [];

  it.each(rows.map((row) => [row.path]))('%s', async (path) => {
    const raw = await readFile(resolve(CORPUS_ROOT, path));
    const { signatures } = await dkimSign(raw, { ...signing, signatureData: [signing] });
    for (const message of [raw, Buffer.concat([Buffer.from(signatures), raw])]) {
      const whole = await authenticator.authenticate(Readable.from([message]), arrival);
      expect(await authenticator.authenticate(message, arrival)).toEqual(whole);
      expect(whole).toEqual(await mailauthsOwn(message, arrival));
      if (message !== raw && whole.dkim === 'PASS') passed.push(path);
    }
    if (whatMailauthReads(raw).length < raw.length) cut.push(path);
  });

  it('took the header block alone for most messages and verified most signatures, so the comparison means something', () => {
    expect(cut.length).toBeGreaterThan(rows.length / 2);
    expect(passed.length).toBeGreaterThan(rows.length / 2);
  });
});

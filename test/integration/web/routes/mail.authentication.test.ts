// Authentication results on the mailbox pages, through app.request() with the real ingest:
// a message that failed SPF, DKIM or DMARC, or that claims our own domain without passing
// DMARC as ours, gets a role="alert" warning on its page (de/en) and a marker in the list;
// mail that passed gets neither.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Verdicts } from '../../../../lambdas/core/model.ts';
import { buildMessage, type MailHarness, startMailHarness } from '../../../support/mail-harness.ts';

let h: MailHarness;
afterAll(async () => h?.close());
beforeAll(async () => {
  h = await startMailHarness();
});

async function deliver(subject: string, from: string, verdicts: Partial<Verdicts>): Promise<string> {
  return h.deliver(await buildMessage({ from, to: 'alice@corp.test', subject, text: 'Please pay the attached invoice today.' }), {
    verdicts,
  });
}

/** The alert element of a message page, or null. */
function alertOf(page: string): string | null {
  return /<div class="notice warning authentication" role="alert">.*?<\/div>/s.exec(page)?.[0] ?? null;
}

/** The list row of one message on a folder page. */
function rowOf(page: string, id: string): string {
  const row = new RegExp(`<li[^>]*><a href="/mail/m/${id}">.*?</li>`, 's').exec(page)?.[0];
  if (!row) throw new Error(`no row for ${id}`);
  return row;
}

describe('authentication warnings', () => {
  it.each([
    ['spf', { spf: 'FAIL' }, 'The server that delivered it is not allowed to send mail for the sender’s domain (SPF failed).'],
    ['dkim', { dkim: 'FAIL' }, 'Its signature does not match: it may have been altered on the way (DKIM failed).'],
    ['dmarc', { dmarc: 'FAIL' }, 'The sender’s domain does not vouch for it (DMARC failed).'],
  ] as const)('warns on the page and marks the list when %s failed', async (check, verdicts, reason) => {
    // Prepare
    const id = await deliver(`${check} failed`, 'Partner <billing@partner.test>', verdicts);

    // Act
    const page = await (await h.get(`/mail/m/${id}`)).text();
    const list = await (await h.get('/mail')).text();

    // Assess
    const alert = alertOf(page);
    expect(alert).toContain('Warning: this message may not come from whom it claims');
    expect(alert).toContain(`<li>${reason}</li>`);
    expect(alert).toContain('Do not open its links or attachments');
    expect(rowOf(list, id)).toContain('<span class="badge warning unverified">Sender unverified</span>');
  });

  it('warns about external mail that claims our own domain, in German too', async () => {
    // Prepare: From the CEO at our domain, SPF and DKIM passed (for the attacker's domain), no DMARC verdict for ours
    const id = await deliver('Urgent transfer', 'CEO <ceo@corp.test>', { dmarc: 'GRAY' });

    // Act
    const page = await (await h.get(`/mail/m/${id}`, 'alice', { 'accept-language': 'de' })).text();
    const list = await (await h.get('/mail', 'alice', { 'accept-language': 'de' })).text();

    // Assess
    const alert = alertOf(page);
    expect(alert).toContain('Achtung: Diese Nachricht stammt möglicherweise nicht vom angegebenen Absender');
    expect(alert).toContain('Sie gibt vor, aus unserem eigenen Unternehmen zu kommen');
    expect(alert).not.toContain('SPF');
    expect(rowOf(list, id)).toContain('Absender unbestätigt');
  });

  it('shows neither alert nor marker for mail that passed, nor for our domain that passed DMARC', async () => {
    // Prepare
    const partner = await deliver('all fine', 'billing@partner.test', {});
    const colleague = await deliver('from a colleague', 'Bob <bob@corp.test>', {});

    // Act
    const list = await (await h.get('/mail')).text();

    // Assess
    for (const id of [partner, colleague]) {
      const page = await (await h.get(`/mail/m/${id}`)).text();
      expect(page).not.toContain('role="alert"');
      expect(rowOf(list, id)).not.toContain('unverified');
    }
  });
});

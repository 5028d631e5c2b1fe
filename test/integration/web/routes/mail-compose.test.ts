// Writing mail through app.request(): the forms (new, reply, reply all, forward), the
// send flow with the real MIME composer and SMTP into local mode's primary sink (what
// arrives there is parsed and checked: From, recipients, In-Reply-To, References,
// attachments), the Sent copy, validation errors tied to their fields, header
// injection refused, the double-submit guard, a relay that is down, and the folder
// actions (delete → Deleted with its notice, restore, mark unread).
import { randomBytes } from 'node:crypto';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SmtpOutboundMailer } from '../../../../lambdas/adapters/smtp/smtp-outbound-mailer.ts';
import { draftOwner, FILENAME_VARIABLE } from '../../../../lambdas/core/drafts.ts';
import { MAX_WEB_BODY_BYTES } from '../../../../lambdas/core/payload-limits.ts';
import type { OutboundMailer } from '../../../../lambdas/ports/outbound-mailer.ts';
import { buildMessage, decodeEntities, links, type MailHarness, ORIGIN, PNG, startMailHarness } from '../../../support/mail-harness.ts';
import { freePort } from '../../../support/wait.ts';

const MB = 1024 * 1024;
const ALICE_OWNER = draftOwner('alice@corp.test');
let h: MailHarness;
let originalId: string;
const REPORT = Buffer.from('Quarterly report, the bytes that must arrive unchanged.\r\n'.repeat(50));

beforeAll(async () => {
  h = await startMailHarness();
  originalId = await h.deliver(
    await buildMessage({
      from: 'Carol Partner <carol@partner.test>',
      to: 'Alice Example <alice@corp.test>, Dan <dan@partner.test>, info@corp.test',
      cc: 'Erin <erin@partner.test>, bob@corp.test',
      subject: 'AW: Budget 2030',
      messageId: '<budget-2@partner.test>',
      inReplyTo: '<budget-1@partner.test>',
      references: '<budget-0@partner.test> <budget-1@partner.test>',
      text: 'Here are the numbers.\nRegards, Carol',
      attachments: [
        { filename: 'report.txt', content: REPORT, contentType: 'text/plain' },
        { filename: 'logo.png', content: PNG, cid: 'logo@partner.test' },
      ],
    }),
  );
});
afterAll(async () => h?.close());

/** The named form fields of a page (inputs and the textarea), HTML entities decoded. */
function fields(html: string): Record<string, string> {
  const result: Record<string, string> = {};
  for (const match of html.matchAll(/<input ([^>]*)\/?>/g)) {
    const name = /name="([^"]*)"/.exec(match[1]!)?.[1];
    const value = /value="([^"]*)"/.exec(match[1]!)?.[1];
    if (name && value !== undefined && !/type="(checkbox|file)"/.test(match[1]!)) result[name] = decodeEntities(value);
  }
  const textarea = /<textarea [^>]*name="text"[^>]*>([\s\S]*?)<\/textarea>/.exec(html);
  // The browser drops the newline right after <textarea>, as it would here.
  if (textarea) result.text = decodeEntities(textarea[1]!).replace(/^\n/, '');
  return result;
}

async function form(path: string): Promise<{ html: string; values: Record<string, string> }> {
  const response = await h.get(path);
  expect(response.status).toBe(200);
  const html = await response.text();
  return { html, values: fields(html) };
}

/** The upload page's form: where it posts and its hidden fields, in order. */
function uploadFormOf(html: string): { action: string; fields: [string, string][]; maxBytes: number } {
  const formTag = /<form id="upload-form" method="post" action="([^"]+)"[^>]*data-max-bytes="(\d+)"/.exec(html);
  if (!formTag) throw new Error(`no upload form in ${html.slice(0, 500)}`);
  const inside = html.slice(formTag.index, html.indexOf('</form>', formTag.index));
  const fields = [...inside.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"\/>/g)].map(
    (m) => [decodeEntities(m[1]!), decodeEntities(m[2]!)] as [string, string],
  );
  return { action: decodeEntities(formTag[1]!), fields, maxBytes: Number(formTag[2]) };
}

/** Posts the upload form to the store as a browser does: its fields, then the file. */
async function postFile(upload: { action: string; fields: [string, string][] }, file: { name: string; bytes: Buffer }): Promise<Response> {
  const body = new FormData();
  for (const [name, value] of upload.fields) body.append(name, value);
  body.append('file', new File([new Uint8Array(file.bytes)], file.name));
  return fetch(upload.action, { method: 'POST', body, redirect: 'manual' });
}

/** "Attach a file" with the form's values, the upload, and back to the draft: its page and notice. */
async function attachFile(values: Record<string, string>, file: { name: string; bytes: Buffer }, who: 'alice' | 'bob' = 'alice') {
  const saved = await h.post('/mail/send', { ...values, action: 'attach' }, who, { multipart: true });
  const attachPage = await (await h.get(saved.headers.get('location') ?? '', who)).text();
  const stored = await postFile(uploadFormOf(attachPage), file);
  const back = new URL(stored.headers.get('location') ?? 'http://missing/');
  const returned = await h.get(`${back.pathname}${back.search}`, who);
  const html = await (await h.get(returned.headers.get('location') ?? '', who)).text();
  const notice = /<div class="notice" role="status"><p>([^<]*)<\/p>/.exec(html)?.[1] ?? null;
  return { saved, attachPage, stored, back, html, notice };
}

/** The ids of the uploaded files a form shows checked. */
function checkedUploads(html: string): string[] {
  return [...html.matchAll(/<input type="checkbox" id="upload-[^"]+" name="upload" value="([^"]+)" checked=""\/>/g)].map((m) => m[1]!);
}

async function sinkCount(): Promise<number> {
  return (await h.received(0)).length;
}

describe('the forms', () => {
  it('new message: labelled fields, the sender shown, CSRF token and a fresh draft id', async () => {
    // Act
    const { html, values } = await form('/mail/compose');
    const again = await form('/mail/compose');

    // Assess
    for (const [id, label] of [
      ['to', 'To'],
      ['cc', 'Cc'],
      ['bcc', 'Bcc'],
      ['subject', 'Subject'],
      ['text', 'Message'],
    ]) {
      expect(html).toContain(`<label for="${id}">${label}</label>`);
      expect(html).toMatch(new RegExp(`<(input|textarea) id="${id}" name="${id}"`));
    }
    expect(html).toContain('<form class="compose" method="post" action="/mail/send" enctype="multipart/form-data">');
    expect(html).toContain('<span class="label">From</span> alice@corp.test');
    expect(values._csrf).toBe(h.csrf.alice);
    expect(values.draftId).toMatch(/^[0-9a-f-]{36}$/);
    expect(again.values.draftId).not.toBe(values.draftId);
    expect(html).toContain('aria-describedby="to-hint"');
    // No file input here: files go to the store from the upload page, never through this form.
    expect(html).not.toContain('type="file"');
    expect(html).toContain('<legend>Attached files</legend>');
    expect(html).toMatch(
      /<button type="submit" name="action" value="send">Send<\/button><button type="submit" name="action" value="attach" class="secondary">Attach a file<\/button>/,
    );
    expect(html).not.toMatch(/<script|\son[a-z]+=|style="/i);
  });

  it('reply, reply all and forward are filled from the message, with the thread in hidden fields', async () => {
    // Act
    const reply = (await form(`/mail/m/${originalId}/reply`)).values;
    const replyAll = (await form(`/mail/m/${originalId}/reply-all`)).values;
    const forward = await form(`/mail/m/${originalId}/forward`);

    // Assess
    expect(reply).toMatchObject({
      to: 'Carol Partner <carol@partner.test>',
      cc: '',
      subject: 'Re: Budget 2030',
      inReplyTo: '<budget-2@partner.test>',
      references: '<budget-0@partner.test> <budget-1@partner.test> <budget-2@partner.test>',
      originalId,
      mode: 'reply',
    });
    expect(reply.text).toMatch(/^\n\nOn .+, Carol Partner <carol@partner.test> wrote:\n> Here are the numbers.\n> Regards, Carol\n$/);
    // Alice's own addresses (her alias info@ included) are left out of reply all.
    expect(replyAll).toMatchObject({
      to: 'Carol Partner <carol@partner.test>, Dan <dan@partner.test>',
      cc: 'Erin <erin@partner.test>, bob@corp.test',
      mode: 'reply-all',
    });
    expect(forward.values).toMatchObject({ to: '', subject: 'Fwd: AW: Budget 2030', inReplyTo: '', references: '', mode: 'forward' });
    expect(forward.html).toContain('<legend>Attachments of the forwarded message</legend>');
    expect(forward.html).toContain('<input type="checkbox" id="keep-0" name="keep" value="0" checked=""/>');
    expect(forward.html).not.toContain('logo.png');
  });

  it('speak German to a German browser, quote included', async () => {
    // Act
    const response = await h.get(`/mail/m/${originalId}/reply`, 'alice', { 'accept-language': 'de' });
    const html = await response.text();

    // Assess
    expect(html).toContain('<h1>Antworten</h1>');
    expect(html).toContain('<label for="to">An</label>');
    expect(fields(html).text).toMatch(/^\n\nAm .+ schrieb Carol Partner <carol@partner.test>:\n/);
  });
});

describe('sending', () => {
  it('a reply goes out from alice with In-Reply-To and References, lands in Sent, and the page says so', async () => {
    // Prepare
    const { values } = await form(`/mail/m/${originalId}/reply`);
    const before = await sinkCount();

    // Act
    const response = await h.post('/mail/send', { ...values, text: `Thanks, Carol!${values.text}` }, 'alice', { multipart: true });
    const [arrived] = (await h.received(before + 1)).slice(before);
    const parsed = await simpleParser(arrived!.raw);
    const sentPage = await (await h.get(response.headers.get('location') ?? '')).text();

    // Assess
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe('/mail/sent?done=sent');
    expect(arrived!.envelope).toMatchObject({ from: 'alice@corp.test', recipients: ['carol@partner.test'] });
    expect(parsed.from?.value).toEqual([{ name: 'Alice Example', address: 'alice@corp.test' }]);
    expect(parsed.subject).toBe('Re: Budget 2030');
    expect(parsed.inReplyTo).toBe('<budget-2@partner.test>');
    expect(parsed.references).toEqual(['<budget-0@partner.test>', '<budget-1@partner.test>', '<budget-2@partner.test>']);
    expect(parsed.text).toContain('Thanks, Carol!\n\nOn ');
    expect(parsed.text).toContain('> Here are the numbers.');
    expect(sentPage).toContain('<div class="notice" role="status"><p>Your message was sent.</p></div>');
    const sentLink = links(sentPage).find((href) => /^\/mail\/m\/sent-/.test(href));
    expect(sentPage).toContain('<span class="subject">Re: Budget 2030</span>');
    const sentCopy = await (await h.get(sentLink!)).text();
    expect(sentCopy).toContain('<dt>To</dt><dd>Carol Partner &lt;carol@partner.test&gt;</dd>');
  });

  it('a forward carries the kept stored attachment and an uploaded 5 MB file (above what a Lambda request carries), byte for byte; Bcc only in the envelope', async () => {
    // Prepare
    const { values } = await form(`/mail/m/${originalId}/forward`);
    const before = await sinkCount();
    const big = randomBytes(5 * MB);
    const filled = { ...values, to: 'Frank <frank@partner.test>', bcc: 'boss@corp.test', keep: '0' };

    // Act
    const attached = await attachFile(filled, { name: 'chart.bin', bytes: big });
    const response = await h.post('/mail/send', {
      ...fields(attached.html),
      keep: '0',
      upload: checkedUploads(attached.html),
      action: 'send',
    });
    const [arrived] = (await h.received(before + 1)).slice(before);
    const parsed = await simpleParser(arrived!.raw);

    // Assess
    expect(attached.notice).toBe('The file was attached.');
    expect(response.status).toBe(303);
    expect(arrived!.envelope.recipients.sort()).toEqual(['boss@corp.test', 'frank@partner.test']);
    expect(arrived!.raw.toString('latin1')).not.toMatch(/^bcc:/im);
    expect(parsed.subject).toBe('Fwd: AW: Budget 2030');
    expect(parsed.inReplyTo).toBeUndefined();
    expect(parsed.attachments.map((a) => a.filename)).toEqual(['report.txt', 'chart.bin']);
    expect(parsed.attachments[0]!.content.equals(REPORT)).toBe(true);
    expect(parsed.attachments[1]!.content.equals(big)).toBe(true);
    // Sent: the draft and its file are gone from the store.
    expect(await h.uploads.drafts.uploads(ALICE_OWNER, values.draftId!)).toEqual([]);
    expect(await h.uploads.drafts.load(ALICE_OWNER, values.draftId!)).toBeNull();
  });

  it('refuses a form without recipients with 400: the form again, the error at the field and in the summary, nothing sent; the corrected form then sends', async () => {
    // Prepare
    const { values } = await form('/mail/compose');
    const before = await sinkCount();

    // Act
    const refused = await h.post('/mail/send', { ...values, subject: 'Lunch?', text: 'Noon?' });
    const html = await refused.text();
    const corrected = await h.post('/mail/send', { ...fields(html), to: 'bob@corp.test' });

    // Assess
    expect(refused.status).toBe(400);
    expect(html).toContain(
      '<div class="error-summary" role="alert" aria-labelledby="error-summary-title"><h2 id="error-summary-title">The message was not sent</h2>',
    );
    expect(html).toContain('<a href="#to">To: Enter at least one recipient.</a>');
    expect(html).toContain('<p class="field-error" id="to-error">Enter at least one recipient.</p>');
    expect(html).toMatch(/<input id="to" name="to"[^>]* aria-invalid="true" aria-describedby="to-hint to-error"\/>/);
    expect(fields(html)).toMatchObject({ subject: 'Lunch?', text: 'Noon?', draftId: values.draftId });
    expect(corrected.status).toBe(303);
    expect(await sinkCount()).toBe(before + 1);
  });

  it.each([
    ['subject', { subject: 'Hello\r\nBcc: mallory@evil.test' }, 'subject'],
    ['to', { to: 'bob@corp.test\r\nBcc: mallory@evil.test' }, 'to'],
    ['cc', { cc: 'bob@corp.test\nX-Injected: yes' }, 'cc'],
    ['an address with a bare name', { to: 'Bob <bob@corp.test>\r\n' }, 'to'],
    ['In-Reply-To', { inReplyTo: '<a@b>\r\nBcc: mallory@evil.test' }, null],
  ])('refuses header injection through %s: 400, nothing reaches the relay', async (_label, change, field) => {
    // Prepare
    const { values } = await form('/mail/compose');
    const before = await sinkCount();

    // Act
    const response = await h.post('/mail/send', { ...values, to: 'bob@corp.test', subject: 'hi', text: 'x', ...change }, 'alice', {
      multipart: true,
    });
    const html = await response.text();

    // Assess
    expect(response.status).toBe(400);
    if (field)
      expect(html).toContain(`<p class="field-error" id="${field}-error">Line breaks and control characters are not allowed here.</p>`);
    else expect(html).toContain('The reply information in this form is damaged.');
    expect(await sinkCount()).toBe(before);
  });

  it('reads References as ids separated by white space: a line break in it starts no header', async () => {
    // Prepare
    const { values } = await form('/mail/compose');
    const before = await sinkCount();

    // Act
    const response = await h.post(
      '/mail/send',
      { ...values, to: 'bob@corp.test', subject: 'refs', text: 'x', references: '<a@b> <c@d>\r\nX-Injected: yes' },
      'alice',
      { multipart: true },
    );
    const [arrived] = (await h.received(before + 1)).slice(before);
    const headerBlock = arrived!.raw.toString('latin1').split('\r\n\r\n')[0]!;

    // Assess
    expect(response.status).toBe(303);
    expect(headerBlock).not.toMatch(/^X-Injected/im);
    expect((await simpleParser(arrived!.raw)).headers.has('x-injected')).toBe(false);
  });

  it('sends a form once: a second submit of the same form, one after the other or at the same time, sends nothing more', async () => {
    // Prepare
    const one = (await form('/mail/compose')).values;
    const two = (await form('/mail/compose')).values;
    const before = await sinkCount();

    // Act
    const first = await h.post('/mail/send', { ...one, to: 'bob@corp.test', subject: 'once', text: 'x' });
    const repeated = await h.post('/mail/send', { ...one, to: 'bob@corp.test', subject: 'once', text: 'x' });
    const concurrent = await Promise.all(
      [1, 2, 3].map(() => h.post('/mail/send', { ...two, to: 'bob@corp.test', subject: 'twice?', text: 'x' })),
    );
    await h.received(before + 2);
    await new Promise((resolve) => setTimeout(resolve, 300));

    // Assess
    expect(first.headers.get('location')).toBe('/mail/sent?done=sent');
    expect(repeated.status).toBe(303);
    expect(repeated.headers.get('location')).toBe('/mail/sent?done=already-sent');
    const outcomes = concurrent
      .map((response) => (response.status === 303 ? response.headers.get('location') : String(response.status)))
      .sort();
    expect(outcomes.filter((outcome) => outcome === '/mail/sent?done=sent')).toHaveLength(1);
    expect(outcomes.every((outcome) => ['/mail/sent?done=sent', '/mail/sent?done=already-sent', '409'].includes(outcome!))).toBe(true);
    expect(await sinkCount()).toBe(before + 2);
  });

  it('says "try again" with 503 when the relay is down, and sends the same form once it is back', async () => {
    // Prepare: a mailer to a port where nothing listens, switched to the working relay before the second submit.
    let relay: OutboundMailer = new SmtpOutboundMailer({
      host: '127.0.0.1',
      port: await freePort(),
      tls: 'none',
      connectionTimeoutMs: 2_000,
    });
    const down = await startMailHarness({ mailer: { send: (envelope, raw) => relay.send(envelope, raw) } });
    try {
      const { values } = await formOf(down, '/mail/compose');

      // Act
      const failed = await down.post('/mail/send', { ...values, to: 'bob@corp.test', subject: 'retry me', text: 'x' });
      const html = await failed.text();
      relay = h.deps.sending.mailer;
      const retried = await down.post('/mail/send', { ...fields(html), to: 'bob@corp.test' });

      // Assess
      expect(failed.status).toBe(503);
      expect(html).toContain('The message could not be sent just now, and nothing was sent.');
      expect(retried.headers.get('location')).toBe('/mail/sent?done=sent');
    } finally {
      await down.close();
    }
  });
});

describe('send limits per user', () => {
  it('ten messages of 100 external recipients each, sent at once: the third is refused with 429 and the limit, the form kept, audited', async () => {
    // Prepare: the defaults (200 recipients an hour) in a harness of its own, so other tests' sends do not count.
    const limited = await startMailHarness();
    try {
      const results = [];

      // Act
      for (let i = 0; i < 10; i++) {
        const { values } = await formOf(limited, '/mail/compose');
        const to = Array.from({ length: 100 }, (_, n) => `r${n}.${i}@partner.test`).join(', ');
        const response = await limited.post('/mail/send', { ...values, to, subject: `mailing ${i}`, text: 'x' });
        results.push({ status: response.status, html: await response.text() });
      }

      // Assess
      expect(results.map((r) => r.status)).toEqual([303, 303, 429, 429, 429, 429, 429, 429, 429, 429]);
      const html = results[2]!.html;
      expect(html).toContain('role="alert"');
      expect(decodeEntities(html)).toMatch(
        /You have reached your sending limit of 30 messages and 200 recipients per hour\. Nothing was sent; you can send again from .+\. Your message is still here\./,
      );
      expect(fields(html)).toMatchObject({ subject: 'mailing 2' });
      expect(fields(html).to).toContain('r99.2@partner.test');
      expect(await limited.received(2)).toHaveLength(2);
      expect(limited.audit.events.map((e) => [e.action, e.actor, e.outcome])).toEqual(
        Array.from({ length: 8 }, () => ['mail.send.limited', 'alice@corp.test', 'denied']),
      );
    } finally {
      await limited.close();
    }
  });
});

describe('attachments, around the webmail function', () => {
  it('"Attach a file" saves the draft first, then offers an upload form for this draft only, with the CSP opened for exactly that form and script', async () => {
    // Prepare
    const { values } = await form('/mail/compose');

    // Act
    const saved = await h.post(
      '/mail/send',
      { ...values, to: 'bob@corp.test', subject: 'Plans', text: 'See attached.', action: 'attach' },
      'alice',
      { multipart: true },
    );
    const draft = await h.uploads.drafts.load(ALICE_OWNER, values.draftId!);
    const attach = await h.get(saved.headers.get('location') ?? '');
    const html = await attach.text();
    const upload = uploadFormOf(html);
    const csp = attach.headers.get('content-security-policy') ?? '';
    const composeCsp = (await h.get('/mail/compose')).headers.get('content-security-policy') ?? '';
    const policy = JSON.parse(Buffer.from(new Map(upload.fields).get('Policy')!, 'base64').toString()) as { conditions: unknown[] };
    const key = new Map(upload.fields).get('key')!;

    // Assess
    expect(saved.status).toBe(303);
    expect(saved.headers.get('location')).toBe(`/mail/drafts/${values.draftId}/attach`);
    expect(draft).toMatchObject({ to: 'bob@corp.test', subject: 'Plans', text: 'See attached.', mode: 'new' });
    expect(attach.status).toBe(200);
    expect(upload.action).toBe(`${h.uploads.endpoint.url}/inbound`);
    expect(key.startsWith(`uploads/${ALICE_OWNER}/${values.draftId}/files/`)).toBe(true);
    expect(key.endsWith(`/${FILENAME_VARIABLE}`)).toBe(true);
    expect(upload.maxBytes).toBe(25_000_000);
    expect(policy.conditions).toEqual(
      expect.arrayContaining([
        ['content-length-range', 1, 25_000_000],
        { success_action_redirect: `${ORIGIN}/mail/drafts/${values.draftId}/uploaded` },
      ]),
    );
    expect(upload.fields.at(-1)![0]).toBe('X-Amz-Signature');
    expect(html).toMatch(/<input id="file" name="file" type="file" required="" aria-describedby="file-hint"\/>/);
    expect(html).toContain('<div class="error-summary" id="upload-alert" role="alert" hidden=""></div>');
    const formAction = /form-action ([^;]+)/.exec(csp)![1]!.split(' ');
    expect(formAction).toContain(h.uploads.endpoint.url);
    expect(formAction.filter((source) => source !== h.uploads.endpoint.url)).toEqual(
      /form-action ([^;]+)/.exec(composeCsp)![1]!.split(' '),
    );
    expect(csp).toMatch(/script-src 'sha256-[A-Za-z0-9+/]+=*'(;|$)/);
    expect(csp).not.toMatch(/unsafe-inline|'self' 'sha|script-src 'self'/);
    expect(composeCsp).not.toContain(h.uploads.endpoint.url);
    expect(composeCsp).not.toContain('script-src');
  });

  it("the script's hash in the CSP is the hash of the script in the page", async () => {
    // Prepare
    const { values } = await form('/mail/compose');
    const saved = await h.post('/mail/send', { ...values, action: 'attach' }, 'alice', { multipart: true });

    // Act
    const attach = await h.get(saved.headers.get('location') ?? '');
    const html = await attach.text();
    const script = /<script>([\s\S]*?)<\/script>/.exec(html)![1]!;
    const { createHash } = await import('node:crypto');

    // Assess
    expect(attach.headers.get('content-security-policy')).toContain(`'sha256-${createHash('sha256').update(script).digest('base64')}'`);
    expect(script).toContain("getElementById('upload-form')");
  });

  it('refuses a file above what the draft still takes at the store; the draft (fields and the earlier file) is kept', async () => {
    // Prepare: a first file of 20 MB leaves 5 MB of the 25 MB.
    const { values } = await form('/mail/compose');
    const filled = { ...values, to: 'bob@corp.test', subject: 'Two files', text: 'Both attached.' };
    const first = await attachFile(filled, { name: 'first.bin', bytes: Buffer.alloc(20_000_000, 1) });

    // Act
    const saved = await h.post('/mail/send', { ...fields(first.html), upload: checkedUploads(first.html), action: 'attach' }, 'alice', {
      multipart: true,
    });
    const upload = uploadFormOf(await (await h.get(saved.headers.get('location') ?? '')).text());
    const refused = await postFile(upload, { name: 'second.bin', bytes: Buffer.alloc(5_000_001, 2) });
    const draftPage = await (await h.get(`/mail/drafts/${values.draftId}`)).text();

    // Assess
    expect(first.notice).toBe('The file was attached.');
    expect(upload.maxBytes).toBe(5_000_000);
    expect(refused.status).toBe(400);
    expect(await refused.text()).toContain('<Code>EntityTooLarge</Code>');
    expect(fields(draftPage)).toMatchObject({ to: 'bob@corp.test', subject: 'Two files', text: 'Both attached.', draftId: values.draftId });
    expect((await h.uploads.drafts.uploads(ALICE_OWNER, values.draftId!)).map((u) => [u.filename, u.size])).toEqual([
      ['first.bin', 20_000_000],
    ]);
    expect(checkedUploads(draftPage)).toHaveLength(1);
    expect(draftPage).toContain('first.bin');
  });

  it('a forged return from the store attaches nothing, and another user cannot open, fill or see a draft', async () => {
    // Prepare
    const { values } = await form('/mail/compose');
    const attached = await attachFile(
      { ...values, to: 'carol@partner.test', subject: 'Private' },
      { name: 'secret.txt', bytes: Buffer.from('alice only') },
    );
    const aliceKey = (await h.uploads.drafts.uploads(ALICE_OWNER, values.draftId!))[0]!.location.key;

    // Act
    const forged = await h.get(
      `/mail/drafts/${values.draftId}/uploaded?bucket=inbound&key=${encodeURIComponent(`uploads/${ALICE_OWNER}/${values.draftId}/files/000000000-000000000000/evil.txt`)}`,
    );
    const bobsOpen = await h.get(`/mail/drafts/${values.draftId}`, 'bob');
    const bobsAttach = await h.get(`/mail/drafts/${values.draftId}/attach`, 'bob');
    const bobsReturn = await h.get(`/mail/drafts/${values.draftId}/uploaded?bucket=inbound&key=${encodeURIComponent(aliceKey)}`, 'bob');
    const bobsSave = await h.post('/mail/send', { ...values, _csrf: h.csrf.bob, action: 'attach', to: 'mallory@evil.test' }, 'bob', {
      multipart: true,
    });
    const bobsSend = await h.post(
      '/mail/send',
      { ...values, _csrf: h.csrf.bob, to: 'mallory@evil.test', subject: 'x', text: 'x', upload: checkedUploads(attached.html) },
      'bob',
      { multipart: true },
    );
    const alicesDraft = await h.uploads.drafts.load(ALICE_OWNER, values.draftId!);

    // Assess
    expect(attached.notice).toBe('The file was attached.');
    expect(forged.headers.get('location')).toBe(`/mail/drafts/${values.draftId}?done=upload-missing`);
    expect(bobsOpen.status).toBe(404);
    expect(bobsAttach.status).toBe(404);
    expect(bobsReturn.headers.get('location')).toBe(`/mail/drafts/${values.draftId}?done=upload-missing`);
    // Bob's own draft of that id is his: it neither sees nor sends alice's file.
    expect(bobsSave.status).toBe(303);
    expect(alicesDraft).toMatchObject({ to: 'carol@partner.test', subject: 'Private' });
    expect(bobsSend.status).toBe(303);
    const [sent] = (await h.received(1)).filter((message) => message.envelope.recipients.includes('mallory@evil.test'));
    expect((await simpleParser(sent!.raw)).attachments).toEqual([]);
  });

  it('leaves out an uploaded file whose box is cleared', async () => {
    // Prepare
    const { values } = await form('/mail/compose');
    const before = await sinkCount();
    const attached = await attachFile(
      { ...values, to: 'bob@corp.test', subject: 'Without the file', text: 'x' },
      { name: 'dropped.txt', bytes: Buffer.from('drop me') },
    );

    // Act
    const response = await h.post('/mail/send', { ...fields(attached.html), action: 'send' }, 'alice', { multipart: true });
    const [arrived] = (await h.received(before + 1)).slice(before);

    // Assess
    expect(checkedUploads(attached.html)).toHaveLength(1);
    expect(response.status).toBe(303);
    expect((await simpleParser(arrived!.raw)).attachments).toEqual([]);
  });

  it('refuses a form body above the limit with 413 before reading it, nothing sent; the same form within the limit sends', async () => {
    // Prepare
    const { values } = await form('/mail/compose');
    const before = await sinkCount();
    const huge = 'x'.repeat(MAX_WEB_BODY_BYTES);

    // Act
    const refused = await h.post('/mail/send', { ...values, to: 'bob@corp.test', subject: 'huge', text: huge }, 'alice', {
      multipart: true,
    });
    const html = await refused.text();
    const sent = await h.post('/mail/send', { ...values, to: 'bob@corp.test', subject: 'fits', text: 'x'.repeat(900_000) }, 'alice', {
      multipart: true,
    });

    // Assess
    expect(refused.status).toBe(413);
    expect(html).toContain('<h1>Too much for one form</h1>');
    expect(html).toContain('larger than 4 MB and was not accepted; nothing was sent');
    expect(sent.status).toBe(303);
    expect((await h.received(before + 1)).length).toBe(before + 1);
  });
});

async function formOf(harness: MailHarness, path: string): Promise<{ values: Record<string, string> }> {
  return { values: fields(await (await harness.get(path)).text()) };
}

describe('folder actions', () => {
  it('delete moves the message to Deleted and says Exchange keeps it; restore brings it back; mark unread clears the read flag', async () => {
    // Prepare
    const id = await h.deliver(
      await buildMessage({ from: 'carol@partner.test', to: 'alice@corp.test', subject: 'to be deleted', text: 'x' }),
    );
    await h.get(`/mail/m/${id}`);

    // Act
    const deleted = await h.post(`/mail/m/${id}/delete`, {});
    const inboxAfter = await (await h.get(deleted.headers.get('location') ?? '')).text();
    const deletedFolder = await (await h.get('/mail/deleted')).text();
    const messageInDeleted = await (await h.get(`/mail/m/${id}`)).text();
    const restored = await h.post(`/mail/m/${id}/restore`, {});
    const inboxRestored = await (await h.get('/mail')).text();
    const unread = await h.post(`/mail/m/${id}/unread`, {});
    const entry = await h.index.getMailboxEntry('alice@corp.test', id, h.gate.clock.now());

    // Assess
    expect(deleted.status).toBe(303);
    expect(deleted.headers.get('location')).toBe('/mail?done=deleted');
    expect(inboxAfter).toContain(
      'The message was moved to Deleted. It is not deleted in Exchange: after the outage it is in your mailbox there. <a href="/mail/deleted">Open Deleted</a>',
    );
    expect(inboxAfter).not.toContain(`/mail/m/${id}"`);
    expect(deletedFolder).toContain(`<a href="/mail/m/${id}">`);
    expect(messageInDeleted).toContain(`<form method="post" action="/mail/m/${id}/restore">`);
    expect(messageInDeleted).not.toContain(`action="/mail/m/${id}/delete"`);
    expect(restored.headers.get('location')).toBe('/mail/deleted?done=restored');
    expect(inboxRestored).toContain(`<a href="/mail/m/${id}">`);
    expect(unread.headers.get('location')).toBe('/mail?done=unread');
    expect(entry).toMatchObject({ folder: 'inbox', read: false });
  });
});

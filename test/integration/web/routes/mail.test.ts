// The mailbox pages through app.request(), with the real ingest, index semantics,
// raw store, renderer and frame document: folder lists (newest first, paging,
// search, unread marks, quarantine hidden), the message page, the frame document's
// headers, attachment downloads (streamed, and through presigned S3 links on s3rver),
// inline images under signed URLs, and the two guarantees every route keeps: another
// mailbox's message id is a 404, and no POST runs without the CSRF token.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3DownloadLinks } from '../../../../lambdas/adapters/aws/s3-download-links.ts';
import { makeLocalS3Client } from '../../../../lambdas/adapters/aws/s3-raw-mail-store.ts';
import { MAX_WEB_BODY_BYTES } from '../../../../lambdas/core/payload-limits.ts';
import { MESSAGE_FRAME_CSP, MESSAGE_FRAME_SANDBOX } from '../../../../web/message-frame.ts';
import { ALICE, sessionCookie } from '../../../support/app-under-test.ts';
import { buildMessage, links, type MailHarness, PNG, startMailHarness } from '../../../support/mail-harness.ts';
import { startS3rver } from '../../../support/s3rver.ts';

let h: MailHarness;
/** Carol's HTML message to alice: cid image, remote image, a PDF, an SVG and a text part with a Content-ID. */
let richId: string;
let bobsId: string;

const PDF = Buffer.from('%PDF-1.4\n% not really a PDF, but bytes to compare\n');

beforeAll(async () => {
  h = await startMailHarness();
  richId = await h.deliver(
    await buildMessage({
      from: 'Carol Partner <carol@partner.test>',
      to: 'Alice Example <alice@corp.test>, dan@partner.test',
      cc: 'erin@partner.test',
      subject: 'Quarterly <numbers> & plans',
      messageId: '<rich-1@partner.test>',
      text: 'See the numbers.',
      html:
        '<p>See <b>the numbers</b>.</p><img id="logo" alt="logo" src="cid:logo@partner.test">' +
        '<img id="remote" alt="tracker" src="https://tracker.example/pixel.png">' +
        '<img alt="vector" src="cid:vector@partner.test"><img alt="text" src="cid:note@partner.test">',
      attachments: [
        { filename: 'logo.png', content: PNG, cid: 'logo@partner.test' },
        {
          filename: 'vector.svg',
          content: '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>',
          contentType: 'image/svg+xml',
          cid: 'vector@partner.test',
        },
        { filename: 'note.txt', content: 'not an image', contentType: 'text/plain', cid: 'note@partner.test' },
        { filename: 'Zahlen – Q1 "final".pdf', content: PDF, contentType: 'application/pdf' },
      ],
    }),
  );
  bobsId = await h.deliver(
    await buildMessage({
      from: 'carol@partner.test',
      to: 'bob@corp.test',
      subject: 'For Bob only',
      messageId: '<bob-1@partner.test>',
      text: 'Bob, only you.',
      attachments: [{ filename: 'bob.txt', content: 'secret' }],
    }),
    {
      to: ['bob@corp.test'],
    },
  );
});
afterAll(async () => h?.close());

async function html(response: Response | Promise<Response>): Promise<string> {
  return (await response).text();
}

/** The signed URL of the inline image with this Content-ID in the frame document. */
function inlineUrl(frame: string, contentId: string): string {
  const match = new RegExp(`src="(/inline/[^/"]+/${encodeURIComponent(contentId).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\?[^"]+)"`).exec(
    frame,
  );
  if (!match) throw new Error(`no inline URL for ${contentId} in ${frame}`);
  return match[1]!.replace(/&amp;/g, '&');
}

describe('dates and the way to the console (issue 16)', () => {
  it('shows on the message page the arrival time the list shows, and the sender’s Date header labelled as such', async () => {
    // Prepare: the sender's clock says two days before the arrival.
    const id = await h.deliver(
      await buildMessage({
        from: 'carol@partner.test',
        to: 'alice@corp.test',
        subject: 'clock skew',
        text: 'x',
        date: new Date('2030-03-01T08:00:00.000Z'),
      }),
      { receivedAt: '2030-03-03T09:15:00.000Z' },
    );
    // Act
    const list = await html(h.get('/mail'));
    const page = await html(h.get(`/mail/m/${encodeURIComponent(id)}`));
    // Assess
    const row = list.slice(list.indexOf(`/mail/m/${encodeURIComponent(id)}`));
    expect(row.slice(0, row.indexOf('</li>'))).toContain('3 March 2030 at 10:15 CET');
    const headers = page
      .slice(page.indexOf('class="message-headers"'), page.indexOf('</dl>'))
      .replace(/<[^>]+>/g, ' ')
      .replace(/\s+/g, ' ');
    expect(headers).toContain('Received 3 March 2030 at 10:15 CET');
    expect(headers).toContain('Sent (sender’s clock) 1 March 2030 at 09:00 CET');
  });

  it('links an admin’s mailbox to the admin console, and nobody else’s', async () => {
    // Prepare
    const admin = await sessionCookie({ ...ALICE, groups: ['shadowmail-admins'] }, { clock: h.gate.clock });
    // Act
    const asAdmin = await html(h.get('/mail', 'alice', { cookie: admin.cookie }));
    const asUser = await html(h.get('/mail'));
    // Assess
    expect(asAdmin).toContain('href="/admin"');
    expect(asUser).not.toContain('href="/admin"');
  });
});

describe('folder pages', () => {
  it("list the mailbox newest first, unread in bold with hidden text, alias mail included, quarantined and other people's mail left out", async () => {
    // Prepare: a harness of its own, so the list holds exactly these.
    const own = await startMailHarness();
    try {
      const first = await own.deliver(
        await buildMessage({ from: 'First Sender <first@partner.test>', to: 'alice@corp.test', subject: 'older one', text: 'a' }),
      );
      const viaAlias = await own.deliver(
        await buildMessage({ from: 'info-sender@partner.test', to: 'info@corp.test', subject: 'to the alias', text: 'b' }),
        { to: ['info@corp.test'] },
      );
      await own.deliver(await buildMessage({ from: 'virus@bad.test', to: 'alice@corp.test', subject: 'infected', text: 'c' }), {
        virus: true,
      });
      await own.deliver(await buildMessage({ from: 'carol@partner.test', to: 'bob@corp.test', subject: "not alice's", text: 'd' }), {
        to: ['bob@corp.test'],
      });
      await own.index.updateMailboxEntry('alice@corp.test', first, { read: true });

      // Act
      const page = await html(own.get('/mail'));

      // Assess
      const rows = [...page.matchAll(/<li( class="unread")?><a href="\/mail\/m\/([^"]+)">(.*?)<\/a><\/li>/g)].map((m) => ({
        unread: m[1] !== undefined,
        id: m[2],
        text: m[3]!,
      }));
      expect(rows.map((row) => row.id)).toEqual([viaAlias, first]);
      expect(rows[0]!.unread).toBe(true);
      expect(rows[0]!.text).toContain('<span class="visually-hidden">Unread: </span>');
      expect(rows[1]!.unread).toBe(false);
      expect(rows[1]!.text).not.toContain('Unread');
      expect(rows[1]!.text).toContain('First Sender');
      expect(page).not.toContain('infected');
      expect(page).not.toContain('not alice');
      expect(page).toContain('<time class="date" datetime="');
      expect(page).toContain('<a href="/mail" aria-current="page">Inbox</a>');
    } finally {
      await own.close();
    }
  });

  it('pages with a cursor: "older" continues below the last row, "newest" goes back, the last page offers no more', async () => {
    // Prepare
    const own = await startMailHarness({ pageSize: 3 });
    try {
      const ids: string[] = [];
      for (let n = 1; n <= 7; n++)
        ids.push(
          await own.deliver(
            await buildMessage({ from: 'carol@partner.test', to: 'alice@corp.test', subject: `message ${n}`, text: `${n}` }),
          ),
        );
      const subjects = (page: string) => [...page.matchAll(/<span class="subject">message (\d)/g)].map((m) => Number(m[1]));
      const older = (page: string) => links(page).find((href) => href.includes('cursor='));

      // Act
      const first = await html(own.get('/mail'));
      const second = await html(own.get(older(first)!));
      const third = await html(own.get(older(second)!));

      // Assess
      expect([subjects(first), subjects(second), subjects(third)]).toEqual([[7, 6, 5], [4, 3, 2], [1]]);
      expect(first).not.toContain('Newest messages');
      expect(second).toContain('<a href="/mail">Newest messages</a>');
      expect(older(third)).toBeUndefined();
      expect(third).toContain('Newest messages');
    } finally {
      await own.close();
    }
  });

  it('searches sender and subject, keeps the term in paging links, and says when nothing matches', async () => {
    // Prepare
    const own = await startMailHarness({ pageSize: 2 });
    try {
      for (const [from, subject] of [
        ['Zoë Müller <zoe@partner.test>', 'Invoice 1'],
        ['carol@partner.test', 'Lunch'],
        ['zoe@partner.test', 'Invoice 2'],
        ['carol@partner.test', 'Re: INVOICE 3'],
      ])
        await own.deliver(await buildMessage({ from, to: 'alice@corp.test', subject, text: 'x' }));

      // Act
      const bySender = await html(own.get('/mail?q=zo%C3%AB'));
      const bySubject = await html(own.get('/mail?q=invoice'));
      const next = await html(own.get(links(bySubject).find((href) => href.includes('cursor='))!));
      const none = await html(own.get('/mail?q=nothing-like-this'));

      // Assess
      expect(bySender).toContain('Messages matching “zoë”');
      expect([...bySender.matchAll(/<span class="subject">([^<]+)/g)].map((m) => m[1])).toEqual(['Invoice 1']);
      expect([...bySubject.matchAll(/<span class="subject">([^<]+)/g)].map((m) => m[1])).toEqual(['Re: INVOICE 3', 'Invoice 2']);
      expect(links(bySubject).find((href) => href.includes('cursor='))).toMatch(/^\/mail\?q=invoice&cursor=/);
      expect([...next.matchAll(/<span class="subject">([^<]+)/g)].map((m) => m[1])).toEqual(['Invoice 1']);
      expect(bySubject).toContain('value="invoice"');
      expect(none).toContain('No messages match “nothing-like-this”.');
      expect(none).toContain('<a class="search-clear" href="/mail">Clear search</a>');
    } finally {
      await own.close();
    }
  });

  it('shows an empty page that still carries a cursor as "search older messages"', async () => {
    // Prepare: an index whose search page came back empty after looking at a stretch
    // (what DynamoDB does when a filtered Query page holds no match).
    const own = await startMailHarness();
    try {
      const listMailboxPage = own.index.listMailboxPage.bind(own.index);
      own.index.listMailboxPage = async (mailbox, query, now) =>
        query.search ? { entries: [], nextCursor: 'eyJ2IjoxLCJiZWZvcmUiOiJ4In0' } : listMailboxPage(mailbox, query, now);

      // Act
      const page = await html(own.get('/mail?q=needle'));

      // Assess
      expect(page).toContain('None of the messages looked at so far match “needle”.');
      expect(page).toContain('<a href="/mail?q=needle&amp;cursor=eyJ2IjoxLCJiZWZvcmUiOiJ4In0" rel="next">Search older messages</a>');
    } finally {
      await own.close();
    }
  });

  it("refuses a cursor it did not issue and a search term that is too long with a 400 page, and shows each folder's empty state", async () => {
    // Act
    const badCursor = await h.get('/mail?cursor=not*a*cursor');
    const longSearch = await h.get(`/mail?q=${'x'.repeat(201)}`);
    const sent = await html(h.get('/mail/sent'));
    const deleted = await html(h.get('/mail/deleted'));

    // Assess
    expect(badCursor.status).toBe(400);
    expect(await badCursor.text()).toContain('This search or page link cannot be used.');
    expect(longSearch.status).toBe(400);
    expect(sent).toContain('You have not sent any messages from the emergency webmail yet.');
    expect(deleted).toContain('There are no deleted messages.');
    expect(deleted).toContain('Messages deleted here are not deleted in Exchange');
  });

  it('speaks German to a German browser', async () => {
    // Act
    const page = await html(h.get('/mail', 'alice', { 'accept-language': 'de-DE,de;q=0.9' }));

    // Assess
    expect(page).toContain('<html lang="de">');
    expect(page).toContain('<h1>Posteingang</h1>');
    expect(page).toContain('Nach Absender oder Betreff suchen');
    expect(page).toMatch(/datetime="[^"]+">\d+\. März 2030 um \d\d:\d\d MEZ<\/time>/);
  });
});

describe('deleting in the webmail (issue 15: deletions are not applied to Exchange)', () => {
  it('says in English and German, on the message page, after the delete and on Deleted, that Exchange keeps the message after the outage', async () => {
    // Prepare
    const id = await h.deliver(
      await buildMessage({ from: 'carol@partner.test', to: 'alice@corp.test', subject: 'to be deleted', text: 'x' }),
    );
    const german = { 'accept-language': 'de-DE,de;q=0.9' };

    // Act
    const messageDe = await html(h.get(`/mail/m/${id}`, 'alice', german));
    const pages = {
      en: {
        message: await html(h.get(`/mail/m/${id}`)),
        deleted: await h.post(`/mail/m/${id}/delete`, {}),
        folder: await html(h.get('/mail/deleted')),
      },
      de: {
        message: messageDe,
        notice: await html(h.get('/mail?done=deleted', 'alice', german)),
        folder: await html(h.get('/mail/deleted', 'alice', german)),
      },
    };
    const notice = await html(h.get(pages.en.deleted.headers.get('location') ?? ''));

    // Assess
    expect(pages.en.deleted.status).toBe(303);
    expect(pages.en.message).toContain(
      'Delete moves the message to Deleted in this webmail only. It is not deleted in Exchange: once Exchange is back, it is in your mailbox there',
    );
    expect(notice).toContain(
      'The message was moved to Deleted. It is not deleted in Exchange: after the outage it is in your mailbox there.',
    );
    expect(pages.en.folder).toContain('Messages deleted here are not deleted in Exchange: after the outage they are in your mailbox there');
    expect(pages.de.message).toContain(
      'Löschen verschiebt die Nachricht nur in diesem Webmail nach „Gelöscht“. In Exchange wird sie nicht gelöscht: Sobald Exchange wieder läuft, ist sie dort in Ihrem Postfach',
    );
    expect(pages.de.notice).toContain(
      'Die Nachricht wurde nach „Gelöscht“ verschoben. In Exchange wird sie nicht gelöscht: Nach dem Ausfall ist sie dort in Ihrem Postfach.',
    );
    expect(pages.de.folder).toContain(
      'Hier gelöschte Nachrichten werden in Exchange nicht gelöscht: Nach dem Ausfall sind sie dort in Ihrem Postfach',
    );
    for (const page of [pages.en.message, notice, pages.en.folder]) expect(page).not.toContain('still in Exchange');
    await h.post(`/mail/m/${id}/restore`, {});
  });
});

describe('message page', () => {
  it('shows headers, actions, the remote-content switch, attachments and the sandboxed frame, and marks the message read', async () => {
    // Prepare
    const before = await h.index.getMailboxEntry('alice@corp.test', richId, h.gate.clock.now());

    // Act
    const page = await html(h.get(`/mail/m/${richId}`));
    const withRemote = await html(h.get(`/mail/m/${richId}?remote=1`));
    const after = await h.index.getMailboxEntry('alice@corp.test', richId, h.gate.clock.now());

    // Assess
    expect(before?.read).toBe(false);
    expect(after?.read).toBe(true);
    expect(page).toContain('<h1 id="message-subject">Quarterly &lt;numbers&gt; &amp; plans</h1>');
    expect(page).toContain('<dt>From</dt><dd>Carol Partner &lt;carol@partner.test&gt;</dd>');
    expect(page).toContain('<dt>To</dt><dd>Alice Example &lt;alice@corp.test&gt;, dan@partner.test</dd>');
    expect(page).toContain('<dt>Cc</dt><dd>erin@partner.test</dd>');
    expect(page).toContain(
      `<iframe class="message-frame" title="Message content" src="/mail/m/${richId}/body" sandbox="${MESSAGE_FRAME_SANDBOX}" referrerpolicy="no-referrer"></iframe>`,
    );
    expect(page).toContain(`<a href="/mail/m/${richId}?remote=1">Show remote images</a>`);
    expect(withRemote).toContain(`src="/mail/m/${richId}/body?remote=1"`);
    expect(withRemote).toContain('Images from the internet are shown.');
    for (const action of ['reply', 'reply-all', 'forward']) expect(links(page)).toContain(`/mail/m/${richId}/${action}`);
    for (const action of ['unread', 'delete'])
      expect(page).toContain(
        `<form method="post" action="/mail/m/${richId}/${action}"><input type="hidden" name="_csrf" value="${h.csrf.alice}"/>`,
      );
    expect(page).toContain('Delete moves the message to Deleted in this webmail only. It is not deleted in Exchange');
    // Inline parts with a Content-ID are shown in the body, not listed; the PDF is.
    expect(page).toContain(
      `<a href="/mail/m/${richId}/a/3" download="Zahlen – Q1 &quot;final&quot;.pdf">Zahlen – Q1 &quot;final&quot;.pdf</a> <span class="hint">application/pdf, ${PDF.length} bytes</span>`,
    );
    expect(page).not.toContain('logo.png');
    expect(page).not.toMatch(/<script|\son[a-z]+=|style="/i);
  });

  it('offers no remote switch for a message without remote content, and shows a text-only message as text', async () => {
    // Prepare
    const id = await h.deliver(
      await buildMessage({
        from: 'carol@partner.test',
        to: 'alice@corp.test',
        subject: 'plain',
        text: 'Line one <not a tag>\nhttps://example.com/x',
      }),
    );

    // Act
    const page = await html(h.get(`/mail/m/${id}`));
    const frame = await html(h.get(`/mail/m/${id}/body`));

    // Assess
    expect(page).not.toContain('Show remote images');
    expect(frame).toContain(
      '<pre class="message-text">Line one &#60;not a tag&#62;\n<a href="https://example.com/x" target="_blank" rel="noopener noreferrer nofollow">https://example.com/x</a>',
    );
  });

  it('shows a message whose raw bytes are gone with a notice instead of failing', async () => {
    // Prepare
    const id = await h.deliver(await buildMessage({ from: 'carol@partner.test', to: 'alice@corp.test', subject: 'gone', text: 'x' }));
    await rm(h.rawStore.pathOf({ bucket: 'inbound', key: id }));

    // Act
    const response = await h.get(`/mail/m/${id}`);

    // Assess
    expect(response.status).toBe(200);
    const page = await response.text();
    expect(page).toContain('The content of this message cannot be read right now.');
    expect(page).not.toContain('<iframe');
  });
});

describe('message body frame', () => {
  it('is its own document under the frame CSP, framable only by us; remote images only with ?remote=1; cid images under signed URLs', async () => {
    // Act
    const blocked = await h.get(`/mail/m/${richId}/body`);
    const allowed = await h.get(`/mail/m/${richId}/body?remote=1`);
    const blockedHtml = await blocked.text();
    const allowedHtml = await allowed.text();

    // Assess
    expect(blocked.headers.get('content-security-policy')).toBe(MESSAGE_FRAME_CSP(false));
    expect(allowed.headers.get('content-security-policy')).toBe(MESSAGE_FRAME_CSP(true));
    for (const response of [blocked, allowed]) {
      expect(response.headers.get('x-frame-options')).toBe('SAMEORIGIN');
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(response.headers.get('cache-control')).toBe('private, no-store');
    }
    expect(blockedHtml).not.toContain('tracker.example');
    expect(allowedHtml).toContain('src="https://tracker.example/pixel.png"');
    expect(inlineUrl(blockedHtml, 'logo@partner.test')).toMatch(
      new RegExp(`^/inline/${richId}/logo%40partner\\.test\\?u=alice%40corp\\.test&x=\\d+&s=[A-Za-z0-9_-]{43}$`),
    );
    expect(blockedHtml).not.toMatch(/<script|\son[a-z]+=/i);
  });
});

describe('attachments', () => {
  it("download streamed with the frame module's headers: attachment disposition with the UTF-8 name, nosniff, sandbox CSP, the exact bytes", async () => {
    // Act
    const response = await h.get(`/mail/m/${richId}/a/3`);
    const bytes = Buffer.from(await response.arrayBuffer());

    // Assess
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/pdf');
    expect(response.headers.get('content-disposition')).toBe(
      `attachment; filename="Zahlen _ Q1 _final_.pdf"; filename*=UTF-8''Zahlen%20%E2%80%93%20Q1%20%22final%22.pdf`,
    );
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('content-security-policy')).toBe("default-src 'none'; sandbox");
    expect(bytes.equals(PDF)).toBe(true);
  });

  it("shows, offers and names the issue's invoice\u202Efdp.exe as invoicefdp.exe: no bidi control or invisible character on the page, in the forward list or in the download", async () => {
    // Prepare: a phish whose file names, subject and display name carry overrides, isolates and zero-width characters.
    const id = await h.deliver(
      await buildMessage({
        from: { name: 'Bank \u202eknaB', address: 'phish@partner.test' },
        to: 'alice@corp.test',
        subject: 'Rechnung \u202efdp.exe \u2066ok\u2069',
        text: 'Please open the invoice.',
        attachments: [
          { filename: 'invoice\u202efdp.exe', content: 'MZ', contentType: 'application/octet-stream' },
          { filename: 'report\u200b\u2067gpj.scr\ufeff', content: 'MZ', contentType: 'application/octet-stream' },
        ],
      }),
    );
    const invisible = /[\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufeff]/u;

    // Act
    const page = await html(h.get(`/mail/m/${id}`));
    const list = await html(h.get('/mail'));
    const forward = await html(h.get(`/mail/m/${id}/forward`));
    const downloads = await Promise.all([0, 1].map((index) => h.get(`/mail/m/${id}/a/${index}`)));

    // Assess
    expect(page).toContain(`<a href="/mail/m/${id}/a/0" download="invoicefdp.exe">invoicefdp.exe</a>`);
    expect(page).toContain(`<a href="/mail/m/${id}/a/1" download="reportgpj.scr">reportgpj.scr</a>`);
    expect(page).toContain('Rechnung fdp.exe ok');
    expect(page).not.toMatch(invisible);
    expect(forward).toContain('invoicefdp.exe');
    expect(forward).toContain('reportgpj.scr');
    expect(forward).not.toMatch(invisible);
    expect(list).toContain('Rechnung fdp.exe ok');
    expect(list).toContain('Bank knaB');
    expect(list).not.toMatch(invisible);
    expect(downloads.map((response) => response.headers.get('content-disposition'))).toEqual([
      'attachment; filename="invoicefdp.exe"',
      'attachment; filename="reportgpj.scr"',
    ]);
    await Promise.all(downloads.map((response) => response.arrayBuffer()));
  });

  it('answers 404 for an index the message does not have or that is not a number', async () => {
    // Act
    const statuses = await Promise.all(
      [`/mail/m/${richId}/a/9`, `/mail/m/${richId}/a/x`, `/mail/m/${richId}/a/-1`].map(async (path) => (await h.get(path)).status),
    );

    // Assess
    expect(statuses).toEqual([404, 404, 404]);
  });

  it('redirect to a presigned link when the deployment has one (S3DownloadLinks on s3rver), which serves the bytes as a download', async () => {
    // Prepare: the AWS way, against an S3-compatible server on 127.0.0.1.
    const S3rver = createRequire(import.meta.url)('s3rver') as new (
      options: Record<string, unknown>,
    ) => { run(): Promise<AddressInfo>; close(): Promise<void> };
    const directory = await mkdtemp(join(tmpdir(), 'shadowmail-webmail-s3-'));
    const server = new S3rver({ address: '127.0.0.1', port: 0, directory, silent: true, configureBuckets: [{ name: 'raw-mail' }] });
    const { port } = await server.run();
    const client = makeLocalS3Client(`http://127.0.0.1:${port}`);
    const own = await startMailHarness({ deps: { downloadLinks: new S3DownloadLinks(client, { bucket: 'raw-mail' }) } });
    try {
      const id = await own.deliver(
        await buildMessage({
          from: 'carol@partner.test',
          to: 'alice@corp.test',
          subject: 'pdf',
          text: 'x',
          attachments: [{ filename: 'Bericht.pdf', content: PDF, contentType: 'application/pdf' }],
        }),
      );

      // Act
      const response = await own.get(`/mail/m/${id}/a/0`);
      const location = response.headers.get('location') ?? '';
      const download = await fetch(location);
      const bytes = Buffer.from(await download.arrayBuffer());

      // Assess
      expect(response.status).toBe(302);
      expect(location).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:${port}/raw-mail/downloads/m-${id}/0-[0-9a-f-]{36}\\?`));
      expect(download.status).toBe(200);
      expect(download.headers.get('content-disposition')).toBe('attachment; filename="Bericht.pdf"');
      expect(download.headers.get('content-type')).toBe('application/pdf');
      expect(bytes.equals(PDF)).toBe(true);
    } finally {
      await own.close();
      client.destroy();
      await server.close();
      await rm(directory, { recursive: true, force: true });
    }
  });
});

describe('inline images', () => {
  it('are served under the signed URL without any session: raster image, nosniff, a CORP the origin-less frame may load', async () => {
    // Prepare
    const url = inlineUrl(await html(h.get(`/mail/m/${richId}/body`)), 'logo@partner.test');

    // Act: no cookie, as the sandboxed frame sends it.
    const response = await h.app.request(url);
    const bytes = Buffer.from(await response.arrayBuffer());

    // Assess
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('image/png');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('cross-origin-resource-policy')).toBe('cross-origin');
    expect(response.headers.get('content-security-policy')).toBe("default-src 'none'; sandbox");
    expect(bytes.equals(PNG)).toBe(true);
  });

  it('refuse SVG and other non-raster parts, and any URL whose signature, address, message, part or expiry was changed', async () => {
    // Prepare
    const frame = await html(h.get(`/mail/m/${richId}/body`));
    const logo = new URL(inlineUrl(frame, 'logo@partner.test'), 'http://localhost');
    const variant = (change: (url: URL) => void) => {
      const copy = new URL(logo);
      change(copy);
      return `${copy.pathname}${copy.search}`;
    };
    const attempts = {
      svg: inlineUrl(frame, 'vector@partner.test'),
      text: inlineUrl(frame, 'note@partner.test'),
      signature: variant((url) => url.searchParams.set('s', `${url.searchParams.get('s')!.slice(0, -2)}AA`)),
      address: variant((url) => url.searchParams.set('u', 'bob@corp.test')),
      expiry: variant((url) => url.searchParams.set('x', String(Number(url.searchParams.get('x')) + 60))),
      message: variant((url) => (url.pathname = url.pathname.replace(richId, bobsId))),
      part: variant((url) => (url.pathname = url.pathname.replace('logo%40partner.test', 'vector%40partner.test'))),
      unsigned: logo.pathname,
    };

    // Act
    const statuses = Object.fromEntries(
      await Promise.all(Object.entries(attempts).map(async ([name, url]) => [name, (await h.app.request(url)).status])),
    );
    h.gate.clock.advance(16 * 60_000);
    const expired = (await h.app.request(`${logo.pathname}${logo.search}`)).status;
    h.gate.clock.advance(-16 * 60_000);

    // Assess
    expect(statuses).toEqual({ svg: 404, text: 404, signature: 404, address: 404, expiry: 404, message: 404, part: 404, unsigned: 404 });
    expect(expired).toBe(404);
  });

  it('stay behind the failover gate', async () => {
    // Prepare
    const url = inlineUrl(await html(h.get(`/mail/m/${richId}/body`)), 'logo@partner.test');
    await h.gate.switchOff();

    // Act
    const response = await h.app.request(url);

    // Assess
    await h.gate.switchOn();
    expect(response.status).toBe(403);
    expect(response.headers.get('content-type')).toContain('text/html');
  });
});

describe('bodies larger than a Lambda response', () => {
  it("an inline image above the limit goes through a presigned link that the frame's CSP allows; one within it is answered directly", async () => {
    // Prepare: the AWS way, S3DownloadLinks against s3rver on 127.0.0.1.
    const s3 = await startS3rver(['raw-mail']);
    const port = s3.port;
    const own = await startMailHarness({ deps: { downloadLinks: new S3DownloadLinks(s3.client, { bucket: 'raw-mail' }) } });
    const huge = Buffer.concat([PNG, randomBytes(MAX_WEB_BODY_BYTES)]);
    try {
      const id = await own.deliver(
        await buildMessage({
          from: 'carol@partner.test',
          to: 'alice@corp.test',
          subject: 'site plan',
          text: 'x',
          html: '<img alt="plan" src="cid:plan@partner.test"><img alt="logo" src="cid:logo@partner.test">',
          attachments: [
            { filename: 'plan.png', content: huge, cid: 'plan@partner.test', contentType: 'image/png' },
            { filename: 'logo.png', content: PNG, cid: 'logo@partner.test' },
          ],
        }),
      );

      // Act
      const frameResponse = await own.get(`/mail/m/${id}/body`);
      const frame = await frameResponse.text();
      const large = await own.app.request(inlineUrl(frame, 'plan@partner.test'));
      const location = large.headers.get('location') ?? '';
      const fromS3 = Buffer.from(await (await fetch(location)).arrayBuffer());
      const small = await own.app.request(inlineUrl(frame, 'logo@partner.test'));

      // Assess
      expect(large.status).toBe(302);
      expect(location).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:${port}/raw-mail/downloads/i-${id}/`));
      expect(fromS3.equals(huge)).toBe(true);
      expect(frameResponse.headers.get('content-security-policy')).toContain(`img-src 'self' data: http://127.0.0.1:${port};`);
      expect(small.status).toBe(200);
      expect(Buffer.from(await small.arrayBuffer()).equals(PNG)).toBe(true);
    } finally {
      await own.close();
      await s3.close();
    }
  });

  it('without a link store (local mode) the large inline image is streamed whole', async () => {
    // Prepare
    const huge = Buffer.concat([PNG, randomBytes(MAX_WEB_BODY_BYTES)]);
    const id = await h.deliver(
      await buildMessage({
        from: 'carol@partner.test',
        to: 'alice@corp.test',
        subject: 'site plan, local',
        text: 'x',
        html: '<img alt="plan" src="cid:plan@partner.test">',
        attachments: [{ filename: 'plan.png', content: huge, cid: 'plan@partner.test', contentType: 'image/png' }],
      }),
    );

    // Act
    const response = await h.app.request(inlineUrl(await html(h.get(`/mail/m/${id}/body`)), 'plan@partner.test'));

    // Assess
    expect(response.status).toBe(200);
    expect(Buffer.from(await response.arrayBuffer()).equals(huge)).toBe(true);
  });

  it('a message body whose frame document would exceed the limit shows a notice in the frame instead', async () => {
    // Prepare: 2 MB of text (within the renderer's budget for a part) that HTML escaping makes 7 MB.
    const id = await h.deliver(
      await buildMessage({ from: 'carol@partner.test', to: 'alice@corp.test', subject: 'log dump', text: '<<<<<<<\n'.repeat(250_000) }),
    );

    // Act
    const response = await h.get(`/mail/m/${id}/body`);
    const frame = await response.text();

    // Assess
    expect(response.status).toBe(200);
    expect(Buffer.byteLength(frame)).toBeLessThan(MAX_WEB_BODY_BYTES);
    expect(frame).toContain('This message is too large to show here in full.');
    expect(frame).not.toContain('&lt;&lt;&lt;&lt;');
  });
});

describe("another mailbox's message", () => {
  it('is a 404 on every route, exactly like an unknown id, and nothing about it changes', async () => {
    // Prepare: alice's session, bob's message id (and an id that does not exist at all).
    const entryBefore = await h.index.getMailboxEntry('bob@corp.test', bobsId, h.gate.clock.now());
    const sentBefore = (await h.received(0)).length;
    const { InlineImageSigner } = await import('../../../../web/routes/mail-deps.ts');
    const signedForAlice = new InlineImageSigner(h.deps.signingSecret, h.gate.clock).url('alice@corp.test', bobsId, 'x@y');
    const attempt = async (id: string) => {
      const gets = ['', '/body', '/body?remote=1', '/a/0', '/reply', '/reply-all', '/forward'].map((rest) => h.get(`/mail/m/${id}${rest}`));
      const posts = ['unread', 'delete', 'restore'].map((action) => h.post(`/mail/m/${id}/${action}`, {}));
      const send = h.post(
        '/mail/send',
        { to: 'mallory@evil.test', subject: 'fwd', text: 'x', mode: 'forward', originalId: id, keep: '0', draftId: crypto.randomUUID() },
        'alice',
        { multipart: true },
      );
      return Promise.all([...gets, ...posts, send]);
    };

    // Act
    const foreign = await attempt(bobsId);
    const unknown = await attempt('no-such-message-id');
    const inline = await h.app.request(signedForAlice);
    const foreignBodies = await Promise.all(foreign.map((response) => response.text()));

    // Assess
    expect(foreign.map((response) => response.status)).toEqual(Array(foreign.length).fill(404));
    expect(unknown.map((response) => response.status)).toEqual(foreign.map((response) => response.status));
    expect(inline.status).toBe(404);
    for (const body of foreignBodies) {
      expect(body).toContain('Not found');
      expect(body).not.toContain('For Bob only');
      expect(body).not.toContain('Bob, only you');
    }
    expect(await h.index.getMailboxEntry('bob@corp.test', bobsId, h.gate.clock.now())).toEqual(entryBefore);
    expect((await h.received(0)).length).toBe(sentBefore);
  });

  it('is one for bob himself: his own id opens', async () => {
    // Act
    const response = await h.get(`/mail/m/${bobsId}`, 'bob');

    // Assess
    expect(response.status).toBe(200);
    expect(await response.text()).toContain('For Bob only');
  });

  it("as a quarantined message of one's own is a 404 as well", async () => {
    // Prepare
    const id = await h.deliver(await buildMessage({ from: 'virus@bad.test', to: 'alice@corp.test', subject: 'quarantined', text: 'x' }), {
      virus: true,
    });

    // Act
    const statuses = await Promise.all(['', '/body', '/a/0', '/forward'].map(async (rest) => (await h.get(`/mail/m/${id}${rest}`)).status));

    // Assess
    expect(statuses).toEqual([404, 404, 404, 404]);
  });
});

describe('CSRF', () => {
  it('is required by every POST of the mailbox: without the token nothing is changed or sent', async () => {
    // Prepare
    const id = await h.deliver(
      await buildMessage({ from: 'carol@partner.test', to: 'alice@corp.test', subject: 'csrf target', text: 'x' }),
    );
    await h.get(`/mail/m/${id}`);
    const before = await h.index.getMailboxEntry('alice@corp.test', id, h.gate.clock.now());
    const sentBefore = (await h.received(0)).length;
    const requests = [
      ...['unread', 'delete', 'restore'].map((action) => ({ path: `/mail/m/${id}/${action}`, fields: {} })),
      { path: '/mail/send', fields: { to: 'bob@corp.test', subject: 'forged', text: 'x', draftId: crypto.randomUUID() } },
    ];

    // Act: no token, a wrong token, the right token from another origin.
    const responses = [];
    for (const { path, fields } of requests) {
      responses.push(await h.post(path, { ...fields, _csrf: '' }));
      responses.push(await h.post(path, { ...fields, _csrf: h.csrf.bob }));
      responses.push(
        await h.app.request(path, {
          method: 'POST',
          headers: { cookie: h.cookies.alice, origin: 'https://evil.example' },
          body: new URLSearchParams({ ...fields, _csrf: h.csrf.alice }),
        }),
      );
    }

    // Assess
    expect(responses.map((response) => response.status)).toEqual(Array(responses.length).fill(403));
    expect(await h.index.getMailboxEntry('alice@corp.test', id, h.gate.clock.now())).toEqual(before);
    expect((await h.received(0)).length).toBe(sentBefore);
  });
});

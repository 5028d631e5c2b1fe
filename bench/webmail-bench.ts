// Webmail server time, in process (app.request(), no network, no browser): the whole
// Hono app as local mode and the Lambda build it (gate, session, CSRF, mailbox routes)
// over local mode's store (the SQLite file on disk, lambdas/wiring/local-store.ts).
//   - the first Inbox page (50 rows) of a mailbox holding 10,000 messages, seeded
//     through the index port in concurrent batches; also a search over it;
//   - opening a message with a 1 MB HTML body: the message page (headers, attachment
//     list, remote-content check: one render) and the frame's body route (a second
//     render, sanitized HTML) — what a reader waits for before seeing the text.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { generateSignedCookie } from 'hono/cookie';
import MailComposer from 'nodemailer/lib/mail-composer';
import { FileFailoverFlag } from '../lambdas/adapters/local/file-failover-flag.ts';
import { FsRawMailStore } from '../lambdas/adapters/local/fs-raw-mail-store.ts';
import { MailparserMimeParser } from '../lambdas/adapters/mime/mailparser-mime-parser.ts';
import { switchFailover } from '../lambdas/core/failover.ts';
import { ingestMessage } from '../lambdas/core/ingest.ts';
import type { MailboxEntry } from '../lambdas/core/model.ts';
import { systemClock } from '../lambdas/ports/clock.ts';
import type { OutboundMailer } from '../lambdas/ports/outbound-mailer.ts';
import type { SignInProvider } from '../lambdas/ports/sign-in.ts';
import { openLocalStore } from '../lambdas/wiring/local-store.ts';
import { type LocalUploads, startLocalUploads } from '../lambdas/wiring/local-uploads.ts';
import { localMailRouteDeps } from '../lambdas/wiring/mail-routes.ts';
import { createWebApp } from '../web/app.ts';
import type { WebLogger } from '../web/middleware/logger.ts';
import { mailRouteGroups } from '../web/routes/mail.ts';
import { type Distribution, distribution, round } from './stats.ts';

const MAILBOX = 'alice@corp.test';
const MESSAGES = 10_000;
const SEED_CONCURRENCY = 25;
const HTML_BYTES = 1024 * 1024;
const SECRET = 'webmail-bench-session-secret-0123456789abcdef';

export interface WebmailBench {
  what: string;
  mailboxMessages: number;
  seedSeconds: number;
  inboxFirstPage: { rows: number; responseKiB: number; serverMs: Distribution };
  inboxSearch: { query: string; rows: number; serverMs: Distribution };
  htmlMessage: {
    rawKiB: number;
    htmlKiB: number;
    page: { responseKiB: number; serverMs: Distribution };
    body: { responseKiB: number; serverMs: Distribution };
  };
}

/** Sending is not measured here; the app only needs something in the slot. */
const unusedMailer: OutboundMailer = {
  send: async () => {
    throw new Error('the benchmark sends nothing');
  },
};
/** Sessions are minted directly (as the route tests do): sign-in is not measured. */
const unusedSignIn: SignInProvider = {
  begin: async () => {
    throw new Error('the benchmark does not sign in');
  },
  complete: async () => {
    throw new Error('the benchmark does not sign in');
  },
  signOutUrl: () => null,
};
const quietLogger: WebLogger = {
  info: () => undefined,
  warn: () => undefined,
  error: (message, details) => console.error(message, details),
};

function entryNumber(n: number, receivedAt: string): MailboxEntry {
  return {
    mailbox: MAILBOX,
    sesMessageId: `bench${String(n).padStart(8, '0')}abcdefghijklmnopqrstuvwxyz`,
    receivedAt,
    expiresAt: Math.floor(Date.parse(receivedAt) / 1000) + 28 * 86_400,
    recipients: [MAILBOX],
    folder: 'inbox',
    read: n % 3 === 0,
    visibility: 'normal',
    spamFlagged: false,
    size: 20_000 + (n % 50) * 1000,
    from: [`Sender ${n % 400} <sender${n % 400}@partner${n % 37}.test>`],
    to: [`Alice Example <${MAILBOX}>`],
    cc: n % 5 === 0 ? ['team@corp.test'] : [],
    subject: `Status report ${n}: project ${n % 97}, week ${n % 52}`,
    date: receivedAt,
    snippet: `Hello Alice, here is the status of project ${n % 97}. Everything is on track except for the items listed below, which need your attention.`,
    attachments:
      n % 4 === 0 ? [{ filename: `report-${n}.pdf`, contentType: 'application/pdf', size: 120_000, contentId: null, inline: false }] : [],
  };
}

/** An HTML newsletter of about `bytes`: tables, inline styles, links and text, as mail clients produce. */
function newsletterHtml(bytes: number): string {
  const rows: string[] = [];
  let size = 0;
  for (let n = 0; size < bytes; n++) {
    const row =
      `<tr><td style="padding:12px;border-bottom:1px solid #ddd;font-family:Arial,sans-serif;font-size:14px;color:#333">` +
      `<h3 style="margin:0 0 6px;color:#0b57d0">Article ${n}: quarterly figures and what they mean</h3>` +
      `<p style="margin:0 0 8px;line-height:1.5">Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua. ` +
      `Ut enim ad minim veniam, quis nostrud exercitation ullamco laboris nisi ut aliquip ex ea commodo consequat.</p>` +
      `<a href="https://news.example/article/${n}?utm_source=mail" style="color:#0b57d0">Read more</a>` +
      ` <img src="https://news.example/pixel/${n}.gif" width="1" height="1" alt=""></td></tr>\n`;
    rows.push(row);
    size += row.length;
  }
  return `<!DOCTYPE html><html><head><style>td{vertical-align:top}.footer{color:#777}</style></head><body><table width="100%" cellpadding="0" cellspacing="0">${rows.join('')}</table><p class="footer">Unsubscribe</p></body></html>`;
}

async function timed(times: number, request: () => Promise<Response>): Promise<{ ms: number[]; last: Response; bytes: number }> {
  const ms: number[] = [];
  let last: Response | null = null;
  let bytes = 0;
  for (let i = 0; i < times; i++) {
    const started = performance.now();
    const response = await request();
    const body = await response.arrayBuffer();
    ms.push(performance.now() - started);
    if (response.status !== 200) throw new Error(`status ${response.status}: ${Buffer.from(body).toString('utf8').slice(0, 300)}`);
    last = response;
    bytes = body.byteLength;
  }
  return { ms, last: last!, bytes };
}

export async function measureWebmail(work: string, log: (line: string) => void = () => undefined): Promise<WebmailBench> {
  const dir = join(work, 'webmail');
  await mkdir(dir, { recursive: true });
  const store = openLocalStore(join(dir, 'shadowmail.db'));
  let uploads: LocalUploads | undefined;
  try {
    const { index } = store;
    await store.directory.putAddresses([{ address: MAILBOX, mailbox: MAILBOX }]);

    log(`webmail: seeding ${MESSAGES} mailbox entries`);
    const seedStarted = performance.now();
    const base = Date.now() - 7 * 86_400_000;
    for (let start = 0; start < MESSAGES; start += SEED_CONCURRENCY) {
      const batch = [];
      for (let n = start; n < Math.min(MESSAGES, start + SEED_CONCURRENCY); n++)
        batch.push(index.putMailboxEntry(entryNumber(n, new Date(base + n * 60_000).toISOString())));
      await Promise.all(batch);
    }
    const seedSeconds = round((performance.now() - seedStarted) / 1000, 1);

    const rawStore = new FsRawMailStore(join(dir, 'raw'));
    const html = newsletterHtml(HTML_BYTES);
    const raw = await new MailComposer({
      from: 'News <news@partner.test>',
      to: MAILBOX,
      subject: 'The big quarterly newsletter',
      messageId: '<newsletter-1@partner.test>',
      text: 'Your mail program does not show HTML.',
      html,
    })
      .compile()
      .build();
    const htmlId = 'benchhtml1mbabcdefghijklmnopqrstuvwxyz0123';
    await rawStore.put({ bucket: 'inbound', key: htmlId }, raw);
    await ingestMessage(
      {
        sesMessageId: htmlId,
        receivedAt: new Date().toISOString(),
        envelopeFrom: 'news@partner.test',
        envelopeRecipients: [MAILBOX],
        verdicts: { spam: 'PASS', virus: 'PASS', spf: 'PASS', dkim: 'PASS', dmarc: 'PASS' },
        raw: { bucket: 'inbound', key: htmlId },
        headers: [],
        headersTruncated: false,
        commonHeaders: {},
      },
      {
        index,
        rawStore,
        parser: new MailparserMimeParser(),
        clock: systemClock,
        workerId: 'bench',
        forwardQueue: { enqueue: async () => undefined },
        config: { retentionDays: 28, stackId: 'bench', leaseMs: 60_000, subaddressSeparator: '+' },
      },
    );

    uploads = await startLocalUploads({
      listenHost: '127.0.0.1',
      port: 0,
      browserHost: '127.0.0.1',
      rawStore,
      bucket: 'inbound',
      clock: systemClock,
    });
    const flag = new FileFailoverFlag(join(dir, 'failover.json'));
    await switchFailover(flag, { on: true, actor: 'bench' }, systemClock);
    const app = createWebApp({
      health: async () => ({ ready: true, details: {} }),
      webmail: {
        failover: flag,
        signIn: unusedSignIn,
        sessionSecret: SECRET,
        publicOrigin: 'http://localhost',
        adminGroup: 'shadowmail-admins',
        clock: systemClock,
        timeZone: 'Europe/Berlin',
        // Minted cookies are the session here: the bench measures the mail pages, not the session check.
        sessions: null,
        logger: quietLogger,
        userRoutes: mailRouteGroups(
          localMailRouteDeps({
            index,
            rawStore,
            mailer: unusedMailer,
            drafts: uploads.drafts,
            publicOrigin: 'http://localhost',
            clock: systemClock,
            signingSecret: SECRET,
            logger: quietLogger,
            send: { retentionDays: 28, sentBucket: 'inbound', sentKeyPrefix: 'sent/' },
            sendCounter: store.sendCounter,
            audit: store.audit,
          }),
        ),
      },
    });
    const session = {
      sub: 'bench',
      email: MAILBOX,
      name: 'Alice Example',
      groups: [],
      csrf: 'bench-csrf-token-0123456789abcdefghijklmnop',
      exp: Math.floor(Date.now() / 1000) + 3600,
    };
    const cookie = (
      await generateSignedCookie('shadowmail_session', Buffer.from(JSON.stringify(session)).toString('base64url'), SECRET, { path: '/' })
    ).split(';')[0]!;
    const get = (path: string) => Promise.resolve(app.request(path, { headers: { cookie, 'accept-language': 'en' } }));

    log('webmail: first inbox page');
    await timed(3, () => get('/mail'));
    const inbox = await timed(30, () => get('/mail'));
    const rows = ((await (await get('/mail')).text()).match(/<li( class="unread")?><a href="\/mail\/m\//g) ?? []).length;
    const searchQuery = 'project 42,';
    await timed(2, () => get(`/mail?q=${encodeURIComponent(searchQuery)}`));
    const search = await timed(10, () => get(`/mail?q=${encodeURIComponent(searchQuery)}`));
    const searchRows = (
      (await (await get(`/mail?q=${encodeURIComponent(searchQuery)}`)).text()).match(/<li( class="unread")?><a href="\/mail\/m\//g) ?? []
    ).length;

    log('webmail: opening the 1 MB HTML message');
    const page = await timed(12, () => get(`/mail/m/${htmlId}`));
    const body = await timed(12, () => get(`/mail/m/${htmlId}/body`));
    // The first open also marks the message read and warms the code paths: left out.
    const steady = (ms: number[]) => distribution(ms.slice(2));

    return {
      what:
        "server time of app.request() in this process (whole Hono app: gate, session, CSRF, mailbox routes) over SqliteMessageIndex, local mode's store " +
        `(the SQLite file on disk); ${MESSAGES} entries seeded through the index port, ${SEED_CONCURRENCY} concurrent puts; a session cookie minted directly`,
      mailboxMessages: MESSAGES,
      seedSeconds,
      inboxFirstPage: { rows, responseKiB: round(inbox.bytes / 1024, 1), serverMs: distribution(inbox.ms) },
      inboxSearch: { query: searchQuery, rows: searchRows, serverMs: distribution(search.ms) },
      htmlMessage: {
        rawKiB: round(raw.length / 1024, 1),
        htmlKiB: round(Buffer.byteLength(html) / 1024, 1),
        page: { responseKiB: round(page.bytes / 1024, 1), serverMs: steady(page.ms) },
        body: { responseKiB: round(body.bytes / 1024, 1), serverMs: steady(body.ms) },
      },
    };
  } finally {
    await uploads?.close();
    store.close();
  }
}

/** The lines of the printed summary. */
export function webmailSummary(result: WebmailBench | { skipped: string }): string[] {
  if ('skipped' in result) return ['', 'Webmail server time', `  skipped (${result.skipped})`];
  const { inboxFirstPage: inbox, inboxSearch: search, htmlMessage: message } = result;
  return [
    '',
    `Webmail server time (app.request() in process, local mode's SQLite store, ${result.mailboxMessages} messages in the mailbox)`,
    `  first inbox page (${inbox.rows} rows, ${inbox.responseKiB} KiB): p50 ${inbox.serverMs.p50} ms, p95 ${inbox.serverMs.p95} ms, max ${inbox.serverMs.max} ms`,
    `  search "${search.query}" (${search.rows} rows): p50 ${search.serverMs.p50} ms, p95 ${search.serverMs.p95} ms`,
    `  1 MB HTML message (${message.rawKiB} KiB raw): page p50 ${message.page.serverMs.p50} ms, body frame p50 ${message.body.serverMs.p50} ms ` +
      `(${message.body.responseKiB} KiB sanitized), together p50 ${round(message.page.serverMs.p50 + message.body.serverMs.p50, 1)} ms`,
  ];
}

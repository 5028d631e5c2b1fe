// The mailbox pages as route tests use them: the gate harness (flag file, local OIDC
// provider, movable clock) plus the real parts behind /mail — the in-memory index with
// the shared semantics, raw mail on disk (FsRawMailStore), the real ingest use case
// with the mailparser parser, the real renderer and MIME composer, and outgoing mail
// over SMTP into local mode's primary sink (a real smtp-server on 127.0.0.1).
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Hono } from 'hono';
import MailComposer from 'nodemailer/lib/mail-composer';
import type Mail from 'nodemailer/lib/mailer';
import { FsRawMailStore } from '../../lambdas/adapters/local/fs-raw-mail-store.ts';
import { type SinkEnvelope, type SmtpSink, startSmtpSink } from '../../lambdas/adapters/local/smtp-sink.ts';
import { MailparserMimeParser } from '../../lambdas/adapters/mime/mailparser-mime-parser.ts';
import { SmtpOutboundMailer } from '../../lambdas/adapters/smtp/smtp-outbound-mailer.ts';
import type { SendLimits } from '../../lambdas/contract/send-limits.ts';
import { ingestMessage } from '../../lambdas/core/ingest.ts';
import type { Verdicts } from '../../lambdas/core/model.ts';
import { systemClock } from '../../lambdas/ports/clock.ts';
import type { OutboundMailer } from '../../lambdas/ports/outbound-mailer.ts';
import type { Identity } from '../../lambdas/ports/sign-in.ts';
import { type LocalUploads, startLocalUploads } from '../../lambdas/wiring/local-uploads.ts';
import { localMailRouteDeps } from '../../lambdas/wiring/mail-routes.ts';
import type { WebEnv } from '../../web/middleware/context.ts';
import { mailRouteGroups } from '../../web/routes/mail.ts';
import type { MailRouteDeps } from '../../web/routes/mail-deps.ts';
import { ALICE, type Harness, ORIGIN, SECRET, sessionCookie, startHarness } from './app-under-test.ts';
import { RecordingForwardQueue } from './memory-adapters.ts';
import { MemoryMessageIndex } from './memory-message-index.ts';
import { MemoryAuditLog } from './memory-resend.ts';
import { MemorySendCounter } from './memory-send-counter.ts';
import { receivedMail } from './received-mail.ts';
import { waitFor } from './wait.ts';

export { ALICE, ORIGIN };
export const BOB: Identity = { subject: 'sub-bob', email: 'bob@corp.test', name: 'Bob Example', groups: [] };

/** A 4×3 red PNG. */
export const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAQAAAADCAIAAAA7ljmRAAAAEElEQVR4nGM4IScHRww4OQD1xwwxB+utmQAAAABJRU5ErkJggg==',
  'base64',
);

export interface SinkMessage {
  envelope: SinkEnvelope;
  raw: Buffer;
}

export interface MailHarness {
  gate: Harness;
  index: MemoryMessageIndex;
  /** Where sends refused by the send limits are recorded. */
  audit: MemoryAuditLog;
  rawStore: FsRawMailStore;
  deps: MailRouteDeps;
  /** The draft store behind local mode's S3-compatible upload endpoint. */
  uploads: LocalUploads;
  app: Hono<WebEnv>;
  sinkDir: string;
  cookies: { alice: string; bob: string };
  csrf: { alice: string; bob: string };
  /** Stores `raw` and runs the real ingest for it; returns the message id. */
  deliver(
    raw: Buffer | string,
    options?: { to?: string[]; id?: string; receivedAt?: string; virus?: boolean; verdicts?: Partial<Verdicts> },
  ): Promise<string>;
  get(path: string, who?: 'alice' | 'bob', headers?: Record<string, string>): Promise<Response>;
  /** A form POST from our origin with the session's CSRF token (unless `_csrf` is given). */
  post(
    path: string,
    fields: Record<string, string | string[] | Blob>,
    who?: 'alice' | 'bob',
    options?: { multipart?: boolean },
  ): Promise<Response>;
  /** What the primary sink received, oldest first (waits for `count`). */
  received(count: number): Promise<SinkMessage[]>;
  close(): Promise<void>;
}

let sequence = 0;

export async function startMailHarness(
  options: { pageSize?: number; deps?: Partial<MailRouteDeps>; mailer?: OutboundMailer; sendLimits?: Partial<SendLimits> } = {},
): Promise<MailHarness> {
  const audit = new MemoryAuditLog();
  const gate = await startHarness();
  await gate.switchOn();
  const index = new MemoryMessageIndex();
  await index.putAddresses([
    { address: 'alice@corp.test', mailbox: 'alice@corp.test' },
    { address: 'info@corp.test', mailbox: 'alice@corp.test' },
    { address: 'bob@corp.test', mailbox: 'bob@corp.test' },
  ]);
  const rawStore = new FsRawMailStore(join(gate.dir, 'raw'));
  const sinkDir = join(gate.dir, 'primary');
  const sink: SmtpSink = await startSmtpSink({ host: '127.0.0.1', port: 0, dir: sinkDir });
  const mailer = new SmtpOutboundMailer({ host: '127.0.0.1', port: sink.port, tls: 'none' });
  // The real clock: S3 (and the endpoint) judge a form's expiry by the time it was signed.
  const uploads = await startLocalUploads({
    listenHost: '127.0.0.1',
    port: 0,
    browserHost: '127.0.0.1',
    rawStore,
    bucket: 'inbound',
    clock: systemClock,
  });
  const deps: MailRouteDeps = {
    ...localMailRouteDeps({
      index,
      rawStore,
      mailer: options.mailer ?? mailer,
      drafts: uploads.drafts,
      publicOrigin: ORIGIN,
      clock: gate.clock,
      signingSecret: SECRET,
      send: {
        retentionDays: 28,
        sentBucket: 'inbound',
        sentKeyPrefix: 'sent/',
        ...(options.sendLimits && { sendLimits: options.sendLimits }),
      },
      sendCounter: new MemorySendCounter(),
      audit,
      logger: gate.logger,
    }),
    ...(options.pageSize !== undefined && { pageSize: options.pageSize }),
    ...options.deps,
  };
  const app = gate.makeApp({ userRoutes: mailRouteGroups(deps) });
  const alice = await sessionCookie(ALICE, { clock: gate.clock, csrf: 'alice-csrf-token-0123456789abcdefghijklmn' });
  const bob = await sessionCookie(BOB, { clock: gate.clock, csrf: 'bob-csrf-token-0123456789abcdefghijklmnopq' });
  const cookies = { alice: alice.cookie, bob: bob.cookie };
  const csrf = { alice: alice.session.csrf, bob: bob.session.csrf };

  const readSink = async (): Promise<SinkMessage[]> => {
    const names = (await readdir(sinkDir).catch(() => [] as string[])).filter((name) => name.endsWith('.eml')).sort();
    return Promise.all(
      names.map(async (name) => ({
        envelope: JSON.parse(await readFile(join(sinkDir, name.replace(/\.eml$/, '.json')), 'utf8')) as SinkEnvelope,
        raw: await readFile(join(sinkDir, name)),
      })),
    );
  };

  return {
    gate,
    index,
    audit,
    rawStore,
    deps,
    uploads,
    app,
    sinkDir,
    cookies,
    csrf,
    deliver: async (raw, deliverOptions = {}) => {
      sequence += 1;
      const id = deliverOptions.id ?? `ses${String(sequence).padStart(6, '0')}abcdefghijklmnopqrstuvwxyz`;
      const receivedAt = deliverOptions.receivedAt ?? new Date(gate.clock.now().getTime() - 3_600_000 + sequence * 1000).toISOString();
      await rawStore.put({ bucket: 'inbound', key: id }, Buffer.from(raw));
      await ingestMessage(
        receivedMail({
          sesMessageId: id,
          receivedAt,
          envelopeRecipients: deliverOptions.to ?? ['alice@corp.test'],
          raw: { bucket: 'inbound', key: id },
          verdicts: {
            spam: 'PASS',
            virus: deliverOptions.virus ? 'FAIL' : 'PASS',
            spf: 'PASS',
            dkim: 'PASS',
            dmarc: 'PASS',
            ...deliverOptions.verdicts,
          },
        }),
        {
          index,
          rawStore,
          parser: new MailparserMimeParser(),
          forwardQueue: new RecordingForwardQueue(),
          clock: gate.clock,
          workerId: 'route-test',
          config: { retentionDays: 28, stackId: 'route-test', leaseMs: 60_000, subaddressSeparator: '+' },
        },
      );
      return id;
    },
    get: (path, who = 'alice', headers = {}) => Promise.resolve(app.request(path, { headers: { cookie: cookies[who], ...headers } })),
    post: (path, fields, who = 'alice', postOptions = {}) => {
      const withToken: Record<string, string | string[] | Blob> = { _csrf: csrf[who], ...fields };
      let body: FormData | URLSearchParams;
      if (postOptions.multipart || Object.values(withToken).some((value) => value instanceof Blob)) {
        const form = new FormData();
        for (const [name, value] of Object.entries(withToken)) {
          for (const one of Array.isArray(value) ? value : [value]) {
            if (one instanceof File) form.append(name, one, one.name);
            else form.append(name, one);
          }
        }
        body = form;
      } else {
        body = new URLSearchParams();
        for (const [name, value] of Object.entries(withToken))
          for (const one of Array.isArray(value) ? value : [value]) body.append(name, one as string);
      }
      return Promise.resolve(app.request(path, { method: 'POST', headers: { cookie: cookies[who], origin: ORIGIN }, body }));
    },
    received: async (count) =>
      waitFor(
        `${count} message(s) at the primary sink`,
        async () => {
          const messages = await readSink();
          return messages.length >= count ? messages : undefined;
        },
        10_000,
        50,
      ),
    close: async () => {
      mailer.close();
      await uploads.close();
      await sink.close();
      await gate.close();
    },
  };
}

/** A MIME message built by nodemailer's composer (the shape real senders produce). */
export async function buildMessage(mail: Mail.Options): Promise<Buffer> {
  return new MailComposer({ date: new Date('2030-03-03T09:30:00Z'), ...mail }).compile().build();
}

/** Text of a page with the entities the views write decoded. */
export function decodeEntities(text: string): string {
  return text
    .replace(/&quot;/g, '"')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&');
}

/** The href of every link on a page, in order. */
export function links(html: string): string[] {
  return [...html.matchAll(/<a [^>]*href="([^"]+)"/g)].map((match) => match[1]!.replace(/&amp;/g, '&'));
}

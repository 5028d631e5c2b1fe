// The webmail's mail routes as every composition root builds them (aws.ts, local.ts, the
// test harness, the bench): rendering, composing and the send-once use case are the same
// in every mode; only the stores, the mailer and the Sent copies' place differ.

import { consoleLogger } from '../../web/middleware/logger.ts';
import type { MailRouteDeps } from '../../web/routes/mail-deps.ts';
import { MailparserMessageRenderer } from '../adapters/mime/mailparser-message-renderer.ts';
import { NodemailerMimeComposer } from '../adapters/mime/nodemailer-mime-composer.ts';
import { storedAttachmentResolver } from '../core/compose/attachments.ts';
import type { SendConfig } from '../core/compose/send.ts';
import type { AuditLog } from '../ports/audit-log.ts';
import type { MessageIndex } from '../ports/message-index.ts';
import type { OutboundMailer } from '../ports/outbound-mailer.ts';
import type { RawMailStore, RawMailWriter } from '../ports/raw-mail-store.ts';
import type { SendCounter } from '../ports/send-counter.ts';

export type MailRouteParts = Omit<MailRouteDeps, 'renderer' | 'sending' | 'index'> & {
  index: MessageIndex;
  /** Where Sent copies' raw bytes go. */
  rawWriter: RawMailWriter;
  mailer: OutboundMailer;
  send: SendConfig;
  /** Each user's sends per hour and day (send.sendLimits), and where refusals are audited. */
  sendCounter: SendCounter;
  audit: AuditLog;
};

export function mailRouteDeps(parts: MailRouteParts): MailRouteDeps {
  const { rawWriter, mailer, send, sendCounter, audit, ...routes } = parts;
  const renderer = new MailparserMessageRenderer();
  const logger = parts.logger ?? consoleLogger;
  return {
    ...routes,
    renderer,
    sending: {
      index: parts.index,
      gate: parts.index,
      composer: new NodemailerMimeComposer(),
      mailer,
      rawWriter,
      resolveAttachment: storedAttachmentResolver({ index: parts.index, rawStore: parts.rawStore, renderer, clock: parts.clock }),
      sendCounter,
      audit,
      clock: parts.clock,
      config: send,
      warn: (message, details) => logger.warn(message, details),
    },
  };
}

/** On local disk: one store also keeps the Sent copies, and attachments stream through the webmail (no presigned links). */
export function localMailRouteDeps(
  parts: Omit<MailRouteParts, 'rawWriter' | 'downloadLinks'> & { rawStore: RawMailStore & RawMailWriter },
): MailRouteDeps {
  return mailRouteDeps({ rawWriter: parts.rawStore, downloadLinks: null, ...parts });
}

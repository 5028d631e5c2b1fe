// MimeComposer adapter on nodemailer's MailComposer: the webmail's outgoing messages
// as MIME bytes (RFC 2047 words for non-ASCII names and subjects, RFC 2231 filenames,
// base64 attachments from Buffers or streams). Header values arrive as structured data;
// anything header-bound that still holds a control character is refused here as well,
// so a caller that skipped validation cannot smuggle a header line through.
import MailComposer from 'nodemailer/lib/mail-composer';
import { foldLines } from 'nodemailer/lib/mime-funcs';
import MimeNode from 'nodemailer/lib/mime-node';
import { InvalidInputError } from '../../core/errors.ts';
import { hasControlCharacters } from '../../core/text.ts';
import type { MimeComposer, MimeMailbox, MimeMessageSpec } from '../../ports/mime-composer.ts';

const MESSAGE_ID = /^<[\x21-\x3b\x3d\x3f-\x7e]+>$/;
const CONTENT_TYPE = /^[a-z0-9][a-z0-9!#$&^_.+-]*\/[a-z0-9][a-z0-9!#$&^_.+-]*$/i;
// What the address normalizer of nodemailer would leave alone: no spaces, brackets, quotes, commas.
const ADDRESS = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9.-]+$/;

function refuse(what: string, value: string): never {
  throw new InvalidInputError(`refusing to compose: ${what} ${JSON.stringify(value.slice(0, 100))} cannot go into a header`);
}

function safeText(what: string, value: string): string {
  if (hasControlCharacters(value)) refuse(what, value);
  return value;
}

function mailbox(what: string, value: MimeMailbox): { name: string; address: string } {
  if (!ADDRESS.test(value.address)) refuse(`${what} address`, value.address);
  return { name: safeText(`${what} name`, value.name), address: value.address };
}

function messageId(what: string, value: string): string {
  if (!MESSAGE_ID.test(value)) refuse(what, value);
  return value;
}

export class NodemailerMimeComposer implements MimeComposer {
  async compose(message: MimeMessageSpec): Promise<Buffer> {
    const composer = new MailComposer({
      from: mailbox('From', message.from),
      ...(message.to.length > 0 ? { to: message.to.map((m) => mailbox('To', m)) } : {}),
      ...(message.cc.length > 0 ? { cc: message.cc.map((m) => mailbox('Cc', m)) } : {}),
      subject: safeText('subject', message.subject),
      messageId: messageId('Message-ID', message.messageId),
      date: message.date,
      ...(message.inReplyTo ? { inReplyTo: messageId('In-Reply-To', message.inReplyTo) } : {}),
      ...(message.references.length > 0 ? { references: message.references.map((id) => messageId('References', id)) } : {}),
      // SMTP and SES want CRLF; a browser's textarea may send either.
      text: message.text.replace(/\r\n|\r|\n/g, '\r\n'),
      attachments: message.attachments.map((attachment) => {
        if (!CONTENT_TYPE.test(attachment.contentType)) refuse('content type', attachment.contentType);
        return {
          filename: safeText('file name', attachment.filename),
          contentType: attachment.contentType,
          contentDisposition: 'attachment',
          content: attachment.content,
        };
      }),
      // Content only ever comes from the caller's Buffers and streams, never a path or URL.
      disableFileAccess: true,
      disableUrlAccess: true,
    });
    return composer.compile().build();
  }

  bccField(bcc: MimeMailbox[]): string {
    const value = MimeNode.encodeHeaderValue(
      'Bcc',
      bcc.map((m) => mailbox('Bcc', m)),
    );
    return `${foldLines(`Bcc: ${value}`, 76)}\r\n`;
  }
}

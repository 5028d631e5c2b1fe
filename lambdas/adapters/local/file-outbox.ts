// Local mode's stand-in for SNS SMS and SES notices: each message is one JSON line
// appended to <data>/outbox/sms.jsonl or mail.jsonl (and logged), where the drill, the
// tests and a person trying local mode read the code or the link.
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { NoticeMail, NoticeMailer } from '../../ports/notice-mailer.ts';
import type { SmsMessage, SmsSender } from '../../ports/sms-sender.ts';

export interface OutboxEntry<T> {
  /** ISO 8601. */
  at: string;
  message: T;
}

export class FileOutbox<T> {
  private writing: Promise<void> = Promise.resolve();

  constructor(
    readonly file: string,
    private readonly log: (line: string) => void = () => {},
  ) {}

  /** Appends one line; appends are serialized so lines never interleave. */
  append(message: T, describe: string): Promise<void> {
    const line = `${JSON.stringify({ at: new Date().toISOString(), message } satisfies OutboxEntry<T>)}\n`;
    const next = this.writing.then(async () => {
      await mkdir(dirname(this.file), { recursive: true });
      await appendFile(this.file, line, { mode: 0o600 });
    });
    this.writing = next.catch(() => undefined);
    return next.then(() => this.log(describe));
  }
}

export class FileSmsOutbox implements SmsSender {
  private readonly outbox: FileOutbox<SmsMessage>;

  constructor(file: string, log?: (line: string) => void) {
    this.outbox = new FileOutbox(file, log);
  }

  send(message: SmsMessage): Promise<void> {
    return this.outbox.append(message, `SMS (${message.purpose}) to ${message.to}: ${message.text}`);
  }
}

export class FileMailOutbox implements NoticeMailer {
  private readonly outbox: FileOutbox<NoticeMail>;

  constructor(file: string, log?: (line: string) => void) {
    this.outbox = new FileOutbox(file, log);
  }

  send(mail: NoticeMail): Promise<void> {
    return this.outbox.append(mail, `mail (${mail.purpose}) to ${mail.to}: ${mail.subject}`);
  }
}

/** Every entry of an outbox file, oldest first; none when the file does not exist. A torn last line is skipped. */
export async function readOutbox<T>(file: string): Promise<Array<OutboxEntry<T>>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const entries: Array<OutboxEntry<T>> = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      entries.push(JSON.parse(line) as OutboxEntry<T>);
    } catch {
      // A line cut by a crash mid-append.
    }
  }
  return entries;
}

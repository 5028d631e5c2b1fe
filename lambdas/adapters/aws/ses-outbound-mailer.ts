// OutboundMailer adapter on SES v2 SendEmail with raw content: the composed bytes go
// out unchanged, the envelope recipients (Bcc included) travel in Destination only and
// never in a header. SES takes at most 50 recipients per call, so a longer envelope is
// sent as several calls with the same bytes, as an MTA splits RCPT lists.
import { type SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import { InvalidInputError, RetryableError } from '../../core/errors.ts';
import type { OutboundEnvelope, OutboundMailer } from '../../ports/outbound-mailer.ts';

export interface SesOutboundMailerOptions {
  client: SESv2Client;
  configurationSetName?: string;
  /** SES's per-message recipient limit. */
  maxRecipientsPerCall?: number;
  /** SES v2 raw message limit. */
  maxMessageBytes?: number;
}

/** The message or its envelope is wrong: sending it again will not help (also for notice mail). */
export const SES_PERMANENT_ERRORS: ReadonlySet<string> = new Set([
  'MessageRejected',
  'BadRequestException',
  'MailFromDomainNotVerifiedException',
  'NotFoundException',
  'AccountSuspendedException',
  'SendingPausedException',
]);

export class SesOutboundMailer implements OutboundMailer {
  private readonly maxRecipientsPerCall: number;
  private readonly maxMessageBytes: number;

  constructor(private readonly options: SesOutboundMailerOptions) {
    this.maxRecipientsPerCall = options.maxRecipientsPerCall ?? 50;
    this.maxMessageBytes = options.maxMessageBytes ?? 40 * 1000 * 1000;
  }

  async send(envelope: OutboundEnvelope, raw: Buffer): Promise<{ providerMessageId: string }> {
    if (envelope.recipients.length === 0) throw new InvalidInputError('no recipients to send to');
    if (raw.length > this.maxMessageBytes)
      throw new InvalidInputError(`the message is ${raw.length} bytes; SES takes at most ${this.maxMessageBytes}`);
    const ids: string[] = [];
    for (let start = 0; start < envelope.recipients.length; start += this.maxRecipientsPerCall) {
      const batch = envelope.recipients.slice(start, start + this.maxRecipientsPerCall);
      const command = new SendEmailCommand({
        FromEmailAddress: envelope.from,
        Destination: { ToAddresses: batch },
        Content: { Raw: { Data: raw } },
        ...(this.options.configurationSetName ? { ConfigurationSetName: this.options.configurationSetName } : {}),
      });
      try {
        const output = await this.options.client.send(command);
        ids.push(output.MessageId ?? '');
      } catch (error) {
        throw classify(error, ids.length > 0);
      }
    }
    return { providerMessageId: ids.join(',') };
  }
}

function classify(error: unknown, partlySent: boolean): Error {
  const name = (error as { name?: string })?.name ?? 'Error';
  const detail = `${name}: ${(error as Error)?.message ?? String(error)}`;
  const note = partlySent ? ' (the first recipients have already been sent to)' : '';
  if (SES_PERMANENT_ERRORS.has(name)) return new InvalidInputError(`SES refused the message${note}: ${detail}`, { cause: error });
  return new RetryableError(`sending through SES failed${note}: ${detail}`, { cause: error });
}

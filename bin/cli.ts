// The `shadowmail` command line: admin tasks against local mode's data directory.
// `shadowmail trace --recipient ADDR | --message-id ID | --sender ADDR [--json]`
import { parseArgs } from 'node:util';
import { ShadowmailError } from '../lambdas/core/errors.ts';
import { traceMessages, type TracedMessage } from '../lambdas/core/trace.ts';
import { openLocalIndex } from '../lambdas/wiring/local-index.ts';
import { readLocalConfig } from '../lambdas/wiring/local-config.ts';

const USAGE = `usage:
  shadowmail trace (--recipient ADDR | --message-id ID | --sender ADDR) [--limit N] [--json] [--data-dir DIR]

  Lists matching messages, newest first, with each recipient's delivery state.
  Reads local mode's data directory (SHADOWMAIL_DATA_DIR, default ./.shadowmail).`;

export async function main(argv: string[], out: NodeJS.WritableStream = process.stdout, err: NodeJS.WritableStream = process.stderr): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (command === 'trace') return await trace(rest, out);
    if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
      out.write(`${USAGE}\n`);
      return command === undefined ? 2 : 0;
    }
    err.write(`shadowmail: unknown command ${JSON.stringify(command)}\n${USAGE}\n`);
    return 2;
  } catch (error) {
    if (error instanceof ShadowmailError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      err.write(`shadowmail: ${(error as Error).message}\n`);
      return 2;
    }
    err.write(`shadowmail: ${(error as Error).stack ?? String(error)}\n`);
    return 1;
  }
}

async function trace(argv: string[], out: NodeJS.WritableStream): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      recipient: { type: 'string' },
      'message-id': { type: 'string' },
      sender: { type: 'string' },
      limit: { type: 'string', default: '100' },
      json: { type: 'boolean', default: false },
      'data-dir': { type: 'string' },
    },
    strict: true,
  });
  const limit = Number.parseInt(values.limit!, 10);
  if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) throw new ShadowmailError('USAGE', '--limit must be a number from 1 to 10000');
  const env = values['data-dir'] ? { ...process.env, SHADOWMAIL_DATA_DIR: values['data-dir'] } : process.env;
  const config = readLocalConfig(env);
  const local = await openLocalIndex(config.dataDir);
  try {
    const results = await traceMessages(
      {
        limit,
        ...(values.recipient !== undefined && { recipient: values.recipient }),
        ...(values.sender !== undefined && { sender: values.sender }),
        ...(values['message-id'] !== undefined && { messageIdHeader: values['message-id'] }),
      },
      local.index,
      new Date(),
    );
    out.write(values.json ? `${JSON.stringify(results.map(toJson), null, 2)}\n` : formatTrace(results));
    return 0;
  } finally {
    await local.close();
  }
}

function toJson({ message, deliveries }: TracedMessage) {
  return {
    sesMessageId: message.sesMessageId,
    receivedAt: message.receivedAt,
    envelopeFrom: message.envelopeFrom,
    envelopeRecipients: message.envelopeRecipients,
    messageId: message.summary.messageIdHeader,
    from: message.summary.from,
    subject: message.summary.subject,
    size: message.size,
    verdicts: message.verdicts,
    quarantined: message.visibility === 'quarantined',
    spamFlagged: message.spamFlagged,
    loopDetected: message.loopDetected,
    deliveries: deliveries.map((delivery) => ({
      recipient: delivery.recipient,
      state: delivery.state,
      attemptCount: delivery.attemptCount,
      lastReply: delivery.lastReply,
      reason: delivery.reason,
      updatedAt: delivery.updatedAt,
    })),
  };
}

function formatTrace(results: TracedMessage[]): string {
  if (results.length === 0) return 'no matching messages\n';
  const lines: string[] = [];
  for (const { message, deliveries } of results) {
    lines.push(
      `${message.receivedAt}  ${message.sesMessageId}  ${message.size} bytes`,
      `  from     ${message.envelopeFrom || '<>'}${message.summary.from.length ? `  (header: ${message.summary.from.join(', ')})` : ''}`,
      `  subject  ${message.summary.subject}`,
      `  msg-id   ${message.summary.messageIdHeader ?? '-'}`,
    );
    for (const delivery of deliveries) {
      const reply = delivery.lastReply ? `  ${delivery.lastReply.replace(/\s+/g, ' ').slice(0, 120)}` : '';
      lines.push(`  → ${delivery.recipient.padEnd(32)} ${delivery.state.padEnd(9)} attempts ${delivery.attemptCount}${reply}`);
    }
    lines.push('');
  }
  lines.push(`${results.length} message${results.length === 1 ? '' : 's'}`);
  return `${lines.join('\n')}\n`;
}

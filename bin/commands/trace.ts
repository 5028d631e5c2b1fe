// `shadowmail trace`: the admin's message trace on the command line — by recipient,
// sender, Message-ID, subject and time range, newest first, with every recipient's
// delivery state and each attempt (time, SMTP code, the primary's reply), as text or
// --json. Runs against local mode's data directory (the running stack's database, or
// the directory itself when nothing runs), recorded in the audit log as trace.search by
// cli:<os user>; or with --stack against a deployed stack's table with the caller's
// AWS credentials, recorded in that table's audit log as cli:<os user>@<host>.
import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import { describeConfigurationFault } from '../../lambdas/core/configuration-fault.ts';
import { adminTraceSearch, MAX_TRACE_PAGE, type TracedMessage, type TraceSearchInput } from '../../lambdas/core/trace.ts';
import type { AuditLog } from '../../lambdas/ports/audit-log.ts';
import { systemClock } from '../../lambdas/ports/clock.ts';
import type { DeliveryLog } from '../../lambdas/ports/delivery-log.ts';
import type { MessageRecords } from '../../lambdas/ports/message-records.ts';
import type { MessageSearch } from '../../lambdas/ports/message-search.ts';
import { readLocalConfig } from '../../lambdas/wiring/local-config.ts';
import { openLocalResendSession } from '../../lambdas/wiring/local-resend.ts';
import { deployedActor } from './aws-caller.ts';
import { command, EXIT, exitStatusHelp, UsageError } from './command.ts';
import { cliTarget, deployedTargetOptions, openDeployedTable } from './deployed-target.ts';

export const TRACE_USAGE = `usage:
  shadowmail trace [--recipient ADDR] [--sender ADDR] [--message-id ID] [--subject TEXT]
                   [--since TIME] [--until TIME] [--limit N] [--json]
                   [--data-dir DIR | --stack STACK_ID [--region REGION]]

  Lists matching messages, newest first, with each recipient's delivery state and every
  attempt (time, SMTP code, the primary's reply); an attempt the primary refused on
  shadowmail's settings (login, TLS) is marked as a configuration fault, with what to check. Criteria combine; --subject matches a
  part of the subject in any case. Without --recipient, --sender or --message-id the
  search covers received mail of the last 31 days unless --since says otherwise.
  TIME is ISO 8601 (2030-03-01, 2030-03-01T08:00:00Z). --limit caps the messages shown
  (default 100). Each search is recorded in the audit log.

  Local mode: --data-dir (default SHADOWMAIL_DATA_DIR or ./.shadowmail). A deployed stack:
  --stack STACK_ID reads the table from the outputs of STACK_ID-stateful, with your AWS
  credentials (IAM: cloudformation:DescribeStacks, dynamodb:Query/GetItem/PutItem on the table).
${exitStatusHelp()}`;

export const traceCommand = command('trace', TRACE_USAGE, trace);

async function trace(argv: string[], out: NodeJS.WritableStream): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      recipient: { type: 'string' },
      sender: { type: 'string' },
      'message-id': { type: 'string' },
      subject: { type: 'string' },
      since: { type: 'string' },
      until: { type: 'string' },
      limit: { type: 'string', default: '100' },
      json: { type: 'boolean', default: false },
      'data-dir': { type: 'string' },
      ...deployedTargetOptions,
    },
    strict: true,
  });
  const target = cliTarget(values);
  const limit = Number(values.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) throw new UsageError('--limit must be a number from 1 to 10000');
  const input: TraceSearchInput = {
    ...(values.recipient !== undefined && { recipient: values.recipient }),
    ...(values.sender !== undefined && { sender: values.sender }),
    ...(values['message-id'] !== undefined && { messageId: values['message-id'] }),
    ...(values.subject !== undefined && { subject: values.subject }),
    ...(values.since !== undefined && { since: values.since }),
    ...(values.until !== undefined && { until: values.until }),
  };
  if (Object.keys(input).length === 0) throw new UsageError('give at least one of --recipient, --sender, --message-id, --subject, --since');
  const session = await openTraceSession(target);
  try {
    const results: TracedMessage[] = [];
    let cursor: string | null = null;
    // Bounded: a page is never empty without progress for long, and the limit stops it.
    for (let pages = 0; pages < 10_000; pages += 1) {
      const page = await adminTraceSearch(
        session.actor,
        { ...input, cursor, limit: Math.min(MAX_TRACE_PAGE, limit - results.length) },
        {
          index: session.index,
          clock: systemClock,
          audit: session.audit,
        },
      );
      results.push(...page.messages);
      cursor = page.nextCursor;
      if (cursor === null || results.length >= limit) break;
    }
    out.write(values.json ? `${JSON.stringify(results.map(traceJson), null, 2)}\n` : formatTrace(results, cursor !== null));
    return EXIT.ok;
  } finally {
    await session.close();
  }
}

async function openTraceSession(
  target: ReturnType<typeof cliTarget>,
): Promise<{ index: MessageRecords & DeliveryLog & MessageSearch; audit: AuditLog; actor: string; close(): Promise<void> }> {
  if (target.kind === 'stack') {
    const table = await openDeployedTable(target);
    // A search of others' mail can wait for STS: unconfirmed, it is refused (aws-caller.ts).
    const actor = await deployedActor(table.target.region).catch(async (error: unknown) => {
      await table.close();
      throw error;
    });
    return { ...table, actor };
  }
  const env = target.dataDir ? { ...process.env, SHADOWMAIL_DATA_DIR: target.dataDir } : process.env;
  const session = await openLocalResendSession(readLocalConfig(env), systemClock);
  return { index: session.index, audit: session.audit, actor: `cli:${userInfo().username}`, close: () => session.close() };
}

/** The JSON form of one traced message (field names kept from the first trace, attempts added). */
export function traceJson({ message, deliveries }: TracedMessage) {
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
      attempts: delivery.attempts.map((attempt) => ({
        at: attempt.at,
        code: attempt.code,
        response: attempt.response,
        outcome: attempt.outcome,
        ...(attempt.configurationFault && { configurationFault: attempt.configurationFault }),
        ...(attempt.kind && { kind: attempt.kind }),
      })),
    })),
  };
}

const oneLine = (text: string, max: number) => text.replace(/\s+/g, ' ').trim().slice(0, max);

export function formatTrace(results: TracedMessage[], more = false): string {
  if (results.length === 0) return 'no matching messages\n';
  const lines: string[] = [];
  for (const { message, deliveries } of results) {
    const v = message.verdicts;
    const flags = [
      message.visibility === 'quarantined' && 'QUARANTINED',
      message.spamFlagged && 'SPAM',
      message.loopDetected && 'MAIL LOOP',
    ].filter(Boolean);
    lines.push(
      `${message.receivedAt}  ${message.sesMessageId}  ${message.size} bytes${flags.length ? `  [${flags.join(', ')}]` : ''}`,
      `  from     ${message.envelopeFrom || '<>'}${message.summary.from.length ? `  (header: ${oneLine(message.summary.from.join(', '), 200)})` : ''}`,
      `  subject  ${oneLine(message.summary.subject, 200)}`,
      `  msg-id   ${message.summary.messageIdHeader ?? '-'}`,
      `  verdicts spam ${v.spam}, virus ${v.virus}, spf ${v.spf}, dkim ${v.dkim}, dmarc ${v.dmarc}`,
    );
    if (deliveries.length === 0) lines.push('  (no delivery states: not received mail, e.g. a copy sent from the webmail)');
    for (const delivery of deliveries) {
      const reply = delivery.lastReply ? `  ${oneLine(delivery.lastReply, 120)}` : '';
      lines.push(`  → ${delivery.recipient.padEnd(32)} ${delivery.state.padEnd(9)} attempts ${delivery.attemptCount}${reply}`);
      for (const attempt of delivery.attempts) {
        // A line about the sender's non-delivery report is no attempt at the primary: no code, no outcome.
        const what =
          attempt.kind === 'report'
            ? `---  ${'report'.padEnd(9)}`
            : `${String(attempt.code).padStart(3, '0')}  ${attempt.outcome.padEnd(9)}`;
        lines.push(`      ${attempt.at}  ${what} ${oneLine(attempt.response, 160)}`);
        if (attempt.configurationFault)
          lines.push(`        ${describeConfigurationFault(attempt.configurationFault, oneLine(attempt.response, 160))}`);
      }
      if (delivery.attemptCount > delivery.attempts.length)
        lines.push(`      (${delivery.attemptCount - delivery.attempts.length} earlier attempts not kept)`);
    }
    lines.push('');
  }
  lines.push(
    `${results.length} message${results.length === 1 ? '' : 's'}${more ? ' (more match: raise --limit or narrow the search)' : ''}`,
  );
  return `${lines.join('\n')}\n`;
}

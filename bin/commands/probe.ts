// `shadowmail probe --to ADDR`: one test message through the real way in, followed to
// the primary. Against a deployed stack (--stack) it is sent with SES sending and the
// admin's credentials from an address of our domain (SES then delivers it to the
// domain's MX, as any sender would), or over SMTP to a host the admin names (--via,
// e.g. the SES endpoint before the MX switch); against local mode it goes to local
// mode's SMTP port. Then the table says when it was received, indexed, relayed and
// accepted by the primary. It fails naming the first step that did not happen.
//
// SES sandbox: the probe sends only to addresses of our own domains, which are verified
// identities, so the sandbox does not stop it (it allows sending to verified identities, 200
// messages a day: https://docs.aws.amazon.com/ses/latest/dg/request-production-access.html).
import { Readable } from 'node:stream';
import { parseArgs } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { DynamoDbMessageIndex } from '../../lambdas/adapters/aws/dynamodb-message-index.ts';
import { SesOutboundMailer } from '../../lambdas/adapters/aws/ses-outbound-mailer.ts';
import { SmtpRelayAdapter } from '../../lambdas/adapters/smtp/smtp-relay.ts';
import { domainOf, parseMailAddress } from '../../lambdas/core/addresses.ts';
import { ShadowmailError } from '../../lambdas/core/errors.ts';
import { systemClock } from '../../lambdas/ports/clock.ts';
import { readLocalConfig, SMTP_URL, type SmtpTarget, smtpTarget } from '../../lambdas/wiring/local-config.ts';
import { openRunningLocalIndex } from '../../lambdas/wiring/local-resend.ts';
import { cliAwsConfig } from './aws-clients.ts';
import { command, EXIT, exitStatusHelp, UsageError } from './command.ts';
import { cliTarget, deployedTargetOptions, readDeployedOutputs } from './deployed-target.ts';
import { mailDomains } from './doctor/context.ts';
import {
  AWS_LABELS,
  type FollowDeps,
  type FollowResult,
  followProbe,
  LOCAL_LABELS,
  notSent,
  type ProbeLabels,
  type ProbeStepKey,
  probeMessage,
  type TimelineStep,
} from './probe/follow.ts';

export const PROBE_USAGE = `usage:
  shadowmail probe --to ADDR [--from ADDR] [--via smtp://HOST[:PORT]] [--timeout SECONDS] [--json]
                   [--data-dir DIR | --stack STACK_ID [--region REGION]]

  Sends one test message to ADDR (an address of one of the stack's domains) and follows
  it: sent, received by SES, indexed, relayed, Exchange's 250 — each with its time after
  the send. Fails naming the first step that did not happen within --timeout
  (default 180 s), with what to look at.

  --stack      sends with SES sending and your AWS credentials from --from (default
               postmaster@<domain of ADDR>); SES delivers it to the domain's MX, so before
               the MX switch it goes to Exchange and never reaches shadowmail: then use
               --via smtp://inbound-smtp.<region>.amazonaws.com:25 (from a host that may
               send on port 25). IAM: ses:SendEmail and ses:SendRawEmail on the identity,
               cloudformation:DescribeStacks, dynamodb:Query on the table and its lookup index.
  --via        sends over SMTP to this host instead (smtp:// STARTTLS when offered,
               smtps:// TLS), with --from as the envelope sender.
  Without --stack: local mode's SMTP port (npm start must be running; --data-dir).
${exitStatusHelp({
  ok: 'every step seen',
  failed: 'a step was not seen within --timeout (or an unexpected error)',
  badInput: 'bad input, a stack that cannot be read or local mode not running (the line says what is wrong)',
})}`;

/** Seconds a probe waits at most by default: SES, the ingest and the first forward attempt take seconds to a minute. */
const DEFAULT_TIMEOUT_SECONDS = 180;
const POLL_MS = 1000;

export const probeCommand = command('probe', PROBE_USAGE, probe);

/** Where the probe goes and where it is followed. */
interface ProbeTarget {
  where: string;
  /** The domains an address must be of; null in local mode, whose listener answers 550 for any other. */
  domains: string[] | null;
  index: FollowDeps['index'];
  labels: ProbeLabels;
  /** The SMTP host whose 250 means "received" (the SES endpoint, local mode's listener). */
  receivingHost: string;
  /** Without --via: how the message is sent. */
  send: { kind: 'ses'; client: SESv2Client } | { kind: 'smtp'; target: SmtpTarget };
  close(): Promise<void>;
}

async function probe(argv: string[], out: NodeJS.WritableStream): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      to: { type: 'string' },
      from: { type: 'string' },
      via: { type: 'string' },
      timeout: { type: 'string', default: String(DEFAULT_TIMEOUT_SECONDS) },
      json: { type: 'boolean', default: false },
      'data-dir': { type: 'string' },
      ...deployedTargetOptions,
    },
    strict: true,
  });
  if (values.to === undefined) throw new UsageError('--to ADDR is required: the mailbox the test message goes to');
  const to = address(values.to, '--to');
  const from = values.from === undefined ? `postmaster@${domainOf(to)}` : address(values.from, '--from');
  const timeout = Number(values.timeout);
  if (!Number.isInteger(timeout) || timeout < 1 || timeout > 3600)
    throw new UsageError('--timeout must be a whole number of seconds from 1 to 3600');
  if (values.via !== undefined && !SMTP_URL.test(values.via))
    throw new UsageError(
      `--via must be an SMTP URL such as smtp://inbound-smtp.eu-central-1.amazonaws.com:25, not ${JSON.stringify(values.via)}`,
    );
  const via = smtpTarget(values.via);

  const target = await openProbeTarget(cliTarget(values));
  try {
    if (target.domains && !target.domains.includes(domainOf(to))) {
      throw new UsageError(`--to must be an address of ${target.domains.join(', ')} (the domains of ${target.where}), not ${to}`);
    }
    const message = probeMessage(from, to, systemClock.now());
    const sentAt = systemClock.now();
    const route = via ?? (target.send.kind === 'smtp' ? target.send.target : null);
    const known: TimelineStep[] = [];
    let routeText: string;
    if (route) {
      routeText = `over SMTP to ${route.host}:${route.port} from ${from}`;
      const relay = new SmtpRelayAdapter({
        host: route.host,
        port: route.port,
        tls: route.implicitTls ? 'implicit' : 'starttls-opportunistic',
        totalTimeoutMs: 60_000,
        socketTimeoutMs: 60_000,
        messagesPerSession: 1, // one message, then QUIT: nothing kept open for a next one
      });
      const [reply] = await relay.relay({ from, recipients: [to] }, async () => Readable.from([message.raw]));
      const atMs = systemClock.now().getTime() - sentAt.getTime();
      if (!reply || reply.code < 200 || reply.code > 299) {
        return report(
          out,
          values.json,
          { to, from, subject: message.subject, route: routeText, where: target.where },
          notSent(target.labels),
          `${route.host}:${route.port} did not take it: ${reply?.response ?? 'no answer'}`,
        );
      }
      known.push({ key: 'sent', label: 'sent', atMs, detail: `${route.host}:${route.port} answered ${reply.response}` });
      // A 250 from the SES endpoint (or local mode's listener) itself is the receipt.
      if (route.host.toLowerCase() === target.receivingHost.toLowerCase())
        known.push({ key: 'received', label: target.labels.received, atMs, detail: `${reply.code} at the end of DATA` });
    } else {
      routeText = `by SES sending from ${from}`;
      const client = (target.send as { client: SESv2Client }).client;
      try {
        const { providerMessageId } = await new SesOutboundMailer({ client }).send({ from, recipients: [to] }, message.raw);
        known.push({
          key: 'sent',
          label: 'sent',
          atMs: systemClock.now().getTime() - sentAt.getTime(),
          detail: `SES accepted it (message id ${providerMessageId}) and delivers it to the MX of ${domainOf(to)}`,
        });
      } catch (error) {
        return report(
          out,
          values.json,
          { to, from, subject: message.subject, route: routeText, where: target.where },
          notSent(target.labels),
          `${(error as Error).message}. The From address must be of a verified domain (${target.domains?.join(', ')}); your identity needs ses:SendEmail and ses:SendRawEmail`,
        );
      }
    }
    const result = await followProbe(
      { recipient: to, token: message.token, sentAt, known, labels: target.labels, deadline: new Date(sentAt.getTime() + timeout * 1000) },
      { index: target.index, clock: systemClock, sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)), pollMs: POLL_MS },
    );
    return report(
      out,
      values.json,
      { to, from, subject: message.subject, route: routeText, where: target.where },
      result,
      result.failedAt
        ? hint(result, result.failedAt, { viaSmtp: route !== null, local: target.labels === LOCAL_LABELS, domain: domainOf(to), timeout })
        : null,
    );
  } finally {
    await target.close();
  }
}

function address(value: string, flag: string): string {
  const normalized = parseMailAddress(value.trim());
  if (!normalized) throw new UsageError(`${flag} must be a mail address such as alice@corp.example, not ${JSON.stringify(value)}`);
  return normalized;
}

async function openProbeTarget(target: ReturnType<typeof cliTarget>): Promise<ProbeTarget> {
  if (target.kind === 'stack') {
    const outputs = await readDeployedOutputs(target);
    const tableName = outputs.require('tableName');
    outputs.require('mailDomains');
    const domains = mailDomains(outputs);
    const dynamo = new DynamoDBClient(cliAwsConfig(outputs.region));
    const ses = new SESv2Client(cliAwsConfig(outputs.region));
    return {
      where: outputs.where,
      domains,
      index: new DynamoDbMessageIndex({ client: dynamo, tableName }),
      labels: AWS_LABELS,
      receivingHost: outputs.get('mxTarget') ?? `inbound-smtp.${outputs.region}.amazonaws.com`,
      send: { kind: 'ses', client: ses },
      close: async () => {
        dynamo.destroy();
        ses.destroy();
      },
    };
  }
  const config = readLocalConfig(target.dataDir ? { ...process.env, SHADOWMAIL_DATA_DIR: target.dataDir } : process.env);
  const local = await openRunningLocalIndex(config).catch((error: unknown) => {
    throw error instanceof ShadowmailError && error.code === 'NOT_RUNNING'
      ? new ShadowmailError(
          'NOT_RUNNING',
          `local mode is not running on ${config.dataDir}: start it (npm start) — the probe sends to its SMTP port — or pass --stack`,
        )
      : error;
  });
  const host = config.listenHost === '0.0.0.0' || config.listenHost === '::' ? '127.0.0.1' : config.listenHost;
  return {
    where: `local mode (pid ${local.runtime.pid})`,
    domains: null,
    index: local.index,
    labels: LOCAL_LABELS,
    receivingHost: host,
    send: { kind: 'smtp', target: { host, port: local.runtime.smtpPort, implicitTls: false } },
    close: () => local.close(),
  };
}

/** What to look at when `failedAt` did not happen. */
function hint(
  result: FollowResult,
  failedAt: ProbeStepKey,
  context: { viaSmtp: boolean; local: boolean; domain: string; timeout: number },
): string {
  const logs = context.local
    ? "local mode's output"
    : "the ingest function's log and the ingest and notifications dead-letter queues (shadowmail doctor)";
  switch (failedAt) {
    case 'received':
      return `not in shadowmail's table within ${context.timeout} s. Does the MX of ${context.domain} point at SES (shadowmail doctor's dns lines)? Before the MX switch SES sending delivers to Exchange directly: use --via smtp://inbound-smtp.<region>.amazonaws.com:25. If SES did receive it, ${logs} say why it was not indexed`;
    case 'indexed':
      return `accepted, but not indexed within ${context.timeout} s: ${logs}`;
    case 'relayed':
      return `indexed, but the forward made no attempt within ${context.timeout} s: ${context.local ? "local mode's output" : "the forward function's log and throttles, the forward dead-letter queue, and shadowmail doctor's smart host line"}`;
    case 'delivered':
      if (result.refused)
        return `the primary refused it for good: ${result.lastReply ?? 'no reply recorded'}. The reply says why (docs/deploy.md 6.6); fix it and shadowmail resend --message-id`;
      return `${result.lastReply ? `the primary answered: ${result.lastReply}` : 'no answer recorded yet'} — shadowmail keeps retrying; shadowmail trace shows each attempt (docs/deploy.md 6.6)`;
    default:
      return 'not sent';
  }
}

function report(
  out: NodeJS.WritableStream,
  json: boolean | undefined,
  about: { to: string; from: string; subject: string; route: string; where: string },
  result: FollowResult,
  hintText: string | null,
): number {
  const failed = result.failedAt ? result.steps.find((step) => step.key === result.failedAt)! : null;
  if (json) {
    out.write(`${JSON.stringify({ ...about, steps: result.steps, failedAt: failed?.label ?? null, hint: hintText }, null, 2)}\n`);
  } else {
    const lines = [`shadowmail probe: ${about.where}`, `to ${about.to}, subject "${about.subject}", ${about.route}`];
    for (const step of result.steps) {
      const at = step.atMs === null ? '-' : `+${(step.atMs / 1000).toFixed(1)} s`;
      lines.push(`  ${at.padStart(9)}  ${step.label.padEnd(22)} ${step.atMs === null ? 'not seen' : step.detail.replace(/\s+/g, ' ')}`);
    }
    lines.push(
      failed
        ? `probe FAILED at "${failed.label}": ${hintText}`
        : `probe ok: every step seen in ${((result.steps.at(-1)!.atMs ?? 0) / 1000).toFixed(1)} s`,
    );
    out.write(`${lines.join('\n')}\n`);
  }
  return failed ? EXIT.failed : EXIT.ok;
}

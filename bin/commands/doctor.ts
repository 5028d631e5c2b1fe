// `shadowmail doctor --stack ID`: a deployment checks itself, read-only, for the admin
// after `cdk deploy` and before the MX switch, and again during a drill. One line per
// check (ok / WARN / FAIL) with what to do for each warning and failure: SES, DNS, the
// smart host as the forward function reaches it, Cognito, operations. Exit 0 only when
// nothing fails. Nothing is written anywhere; the smart-host probe sends no DATA.
import { parseArgs } from 'node:util';
import { parseMailAddress } from '../../lambdas/core/addresses.ts';
import { command, EXIT, exitStatusHelp, UsageError } from './command.ts';
import { cliTarget, deployedTargetOptions, readDeployedOutputs } from './deployed-target.ts';
import { type Check, formatCheck, formatSummary, summarize } from './doctor/check.ts';
import { cognitoChecks } from './doctor/cognito.ts';
import { type DoctorContext, mailDomains, missingOutput } from './doctor/context.ts';
import { dnsChecks, newResolver } from './doctor/dns.ts';
import { operationsChecks } from './doctor/operations.ts';
import { receiptRuleChecks } from './doctor/receipt-rules.ts';
import { sesChecks } from './doctor/ses.ts';
import { smartHostChecks } from './doctor/smart-host.ts';
import { noticeChecks } from './doctor/sms.ts';

export const DOCTOR_USAGE = `usage:
  shadowmail doctor --stack STACK_ID [--region REGION] [--mailbox ADDR] [--dns-server IP[:PORT]] [--json]

  Checks a deployed stack, read-only, one line per check (ok, WARN, FAIL) and for each
  warning or failure what to do:
    ses         the region receives mail; every domain identity verified with DKIM SUCCESS;
                the account may send (sandbox: what it means for webmail replies); our
                receipt rule set is the active one; the webmail's configuration set; whether
                SES refuses unknown recipients, and its address rules against the directory
    dns         each domain's MX (SES only, backup MX behind Exchange, or not at all) and
                the DKIM CNAMEs of the stack outputs
    smart host  the forward function connects to Exchange as it does for mail: greeting,
                EHLO, STARTTLS with certificate check, AUTH, MAIL FROM, RCPT TO --mailbox
                (default postmaster@<first domain>), then RSET and QUIT without DATA
    cognito     the sign-in domain is ACTIVE and answers; the identity provider's metadata
                or issuer answers
    operations  the failover parameter; a confirmed alarm subscription; every dead-letter
                queue empty; the forward backlog; firing alarms; the Lambda concurrency quota
    notices     the SMS sandbox and the monthly SMS spend limit against one outage day
                (sign-in codes and SMS notices for the directory's users with a number);
                SES production access when notices go by mail
  Run it after npx cdk deploy and before the MX switch (then the MX lines fail until you
  switch), and again in every drill.

  --dns-server  ask this resolver instead of the system's: behind split-horizon DNS, name a
                public one (1.1.1.1) to see what senders on the internet see.
  Uses your AWS credentials; the IAM actions it needs are in docs/deploy.md.
${exitStatusHelp({
  ok: 'no check failed',
  failed: 'a check failed (or an unexpected error)',
  badInput: 'bad input or a stack that cannot be read (the line says what is wrong)',
})}`;

export const doctorCommand = command('doctor', DOCTOR_USAGE, doctor);

async function doctor(argv: string[], out: NodeJS.WritableStream): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      mailbox: { type: 'string' },
      'dns-server': { type: 'string' },
      json: { type: 'boolean', default: false },
      ...deployedTargetOptions,
    },
    strict: true,
  });
  if (values.stack === undefined) throw new UsageError('--stack STACK_ID is required: doctor checks a deployed stack');
  const target = cliTarget(values);
  if (target.kind !== 'stack') throw new UsageError('--stack STACK_ID is required');
  const mailbox = values.mailbox === undefined ? undefined : (parseMailAddress(values.mailbox.trim()) ?? undefined);
  if (values.mailbox !== undefined && mailbox === undefined)
    throw new UsageError(`--mailbox must be a mail address such as alice@corp.example, not ${JSON.stringify(values.mailbox)}`);
  const dnsServer = values['dns-server'];
  if (dnsServer !== undefined && !/^(\d{1,3}(\.\d{1,3}){3}(:\d{1,5})?|\[[0-9a-fA-F:]+\](:\d{1,5})?|[0-9a-fA-F:]+)$/.test(dnsServer)) {
    throw new UsageError(
      `--dns-server must be an IP address with an optional port (1.1.1.1, 127.0.0.1:5353, [2606:4700::1111]:53), not ${JSON.stringify(dnsServer)}`,
    );
  }

  const outputs = await readDeployedOutputs(target);
  const ctx: DoctorContext = {
    stackId: target.stackId,
    region: outputs.region,
    outputs,
    domains: mailDomains(outputs),
    options: { mailbox, dnsServer },
    now: new Date(),
  };
  const checks: Check[] = [];
  if (ctx.domains.length === 0) checks.push(missingOutput('ses', 'mail domains', 'mailDomains'));
  // Independent groups, asked one after the other: the output reads in a stable order.
  checks.push(...(await sesChecks(ctx)));
  checks.push(...(await receiptRuleChecks(ctx)));
  checks.push(...(await dnsChecks(ctx, newResolver(dnsServer))));
  checks.push(...(await smartHostChecks(ctx)));
  checks.push(...(await cognitoChecks(ctx)));
  checks.push(...(await operationsChecks(ctx)));
  checks.push(...(await noticeChecks(ctx)));

  const summary = summarize(checks);
  if (values.json) {
    out.write(`${JSON.stringify({ stack: ctx.stackId, region: ctx.region, checks, summary }, null, 2)}\n`);
  } else {
    out.write(`shadowmail doctor: ${outputs.where}\n${checks.map(formatCheck).join('\n')}\n\n${formatSummary(summary)}\n`);
  }
  return summary.fail > 0 ? EXIT.failed : EXIT.ok;
}

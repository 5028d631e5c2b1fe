// `shadowmail failover on [--message TEXT] [--reason TEXT] | off [--reason TEXT] | status [--json]`:
// opens or closes the emergency webmail, or shows the flag — local mode's flag file, a
// deployed stack's SSM parameter (--stack), or any SSM parameter (--ssm-parameter, status only). A
// switch is audited like the admin page's; it is never held back by the audit log.
// `--notify` tells staff afterwards (core/staff-notices.ts); `--notify --dry-run` only
// shows who would get what and switches nothing.
import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import { SSMClient } from '@aws-sdk/client-ssm';
import { SsmFailoverFlag } from '../../lambdas/adapters/aws/ssm-failover-flag.ts';
import { FileFailoverFlag } from '../../lambdas/adapters/local/file-failover-flag.ts';
import { WEB_ENV } from '../../lambdas/contract/environment.ts';
import { AuditWriteError, audited } from '../../lambdas/core/audit.ts';
import { ShadowmailError } from '../../lambdas/core/errors.ts';
import { MAX_FAILOVER_CACHE_MS, switchFailover } from '../../lambdas/core/failover.ts';
import { reconcileReminder } from '../../lambdas/core/reconcile-reminder.ts';
import { type NoticePlan, type NoticeResult, notifyStaff, planStaffNotices } from '../../lambdas/core/staff-notices.ts';
import type { AuditLog } from '../../lambdas/ports/audit-log.ts';
import { systemClock } from '../../lambdas/ports/clock.ts';
import type { DirectoryStore } from '../../lambdas/ports/directory.ts';
import { FAILOVER_OFF, type FailoverFlag, type FailoverState } from '../../lambdas/ports/failover-flag.ts';
import { webSettingsSchema } from '../../lambdas/wiring/env.ts';
import { localWebPaths, readLocalConfig } from '../../lambdas/wiring/local-config.ts';
import { openReopeningLocalAuditLog } from '../../lambdas/wiring/local-resend.ts';
import { localNoticeParts, type NoticeParts } from '../../lambdas/wiring/notices.ts';
import { deployedActor, osActor } from './aws-caller.ts';
import { cliAwsConfig } from './aws-clients.ts';
import { command, EXIT, exitStatusHelp, UsageError } from './command.ts';
import { cliTarget, deployedTargetOptions, openDeployedFailover, openDeployedNotices } from './deployed-target.ts';

export const FAILOVER_USAGE = `usage:
  shadowmail failover on [--message TEXT] [--reason TEXT] [--notify [--dry-run]] [TARGET]
  shadowmail failover off [--reason TEXT] [--notify [--dry-run]] [TARGET]
  shadowmail failover status [--json] [TARGET | --ssm-parameter NAME [--region R]]

  Opens (on) or closes (off) the emergency webmail, or shows the flag. Users see a change
  within the webmail's cache time (at most ${MAX_FAILOVER_CACHE_MS / 1000} s). A switch is recorded in the audit
  log (who, why, the message); when the log cannot be written the flag is switched all
  the same, and the command says so.

  TARGET is local mode's data directory (--data-dir DIR; default SHADOWMAIL_DATA_DIR or
  ./.shadowmail) or a deployed stack: --stack STACK_ID [--region REGION].
  --ssm-parameter NAME reads a parameter by name (status); it knows no table to audit
  a switch in, so on and off refuse it (use --stack).

  --notify      after the switch, tell every enabled personal user of the directory by
                SMS (their mobile number) and/or mail to their private address, as the
                deployment configures (breakGlass.notices; local mode: SHADOWMAIL_NOTICES):
                where the webmail is and how to sign in, or that Outlook works again.
                Sent at the provider's rate; one audit entry with the counts. Each
                --notify sends a round, also when the flag was already on.
  --dry-run     with --notify: switch nothing, send nothing; show who would get what
                (numbers and addresses masked) and the texts.
${exitStatusHelp({
  failed: 'switched, but the audit entry could not be written; or an unexpected error',
  partial: 'switched, but some notices could not be sent (the counts say how many)',
})}`;

export const failoverCommand = command('failover', FAILOVER_USAGE, failover);

async function failover(argv: string[], out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      message: { type: 'string' },
      reason: { type: 'string' },
      json: { type: 'boolean', default: false },
      notify: { type: 'boolean', default: false },
      'dry-run': { type: 'boolean', default: false },
      'data-dir': { type: 'string' },
      'ssm-parameter': { type: 'string' },
      ...deployedTargetOptions,
    },
    allowPositionals: true,
    strict: true,
  });
  const [action, ...extra] = positionals;
  if (!['on', 'off', 'status'].includes(action ?? '') || extra.length > 0) {
    throw new UsageError('failover needs one of: on, off, status');
  }
  if (action !== 'on' && values.message !== undefined) throw new UsageError('--message goes with failover on');
  if (action === 'status' && values.reason !== undefined) throw new UsageError('--reason goes with failover on or off');
  if (action === 'status' && values.notify) throw new UsageError('--notify goes with failover on or off');
  if (values['dry-run'] && !values.notify) throw new UsageError('--dry-run goes with --notify: it shows who would be notified');
  if (values.notify && values['ssm-parameter'] !== undefined)
    throw new UsageError("--notify needs the deployment's directory: use --stack STACK_ID instead of --ssm-parameter");
  const target = await failoverTarget(values, action !== 'status', err);
  try {
    // Switching off: remind the admin to reconcile Exchange from when the outage began.
    const reminder = action === 'off' && !values.json && !values['dry-run'] ? await reminderFor(target, values) : '';
    if (values.notify) {
      const noticeOptions = { on: action === 'on', message: values.message, json: values.json, dryRun: values['dry-run'] };
      const code = await switchAndNotify(target, noticeOptions, values.reason, out, err);
      out.write(reminder);
      return code;
    }
    if (action === 'status') {
      const state = await target.flag.read();
      out.write(values.json ? `${JSON.stringify(state, null, 2)}\n` : formatFailover(state, target.where));
      return EXIT.ok;
    }
    const { state, code } = await switchFlag(
      target,
      {
        on: action === 'on',
        ...(values.message !== undefined && { message: values.message }),
        ...(values.reason !== undefined && { reason: values.reason }),
      },
      err,
    );
    out.write(
      values.json
        ? `${JSON.stringify(state, null, 2)}\n`
        : `${formatFailover(state, target.where)}${whenUsersSeeIt(target.cacheSeconds)}\n${reminder}`,
    );
    return code;
  } finally {
    await target.close();
  }
}

/**
 * Switches the flag, audited like the admin page's switch (action, actor, reason, the
 * message users see). A log that cannot be written never holds the switch back: the
 * command says so and exits 1.
 */
async function switchFlag(
  target: FailoverTarget,
  change: { on: boolean; message?: string; reason?: string },
  err: NodeJS.WritableStream,
): Promise<{ state: FailoverState; code: number }> {
  const apply = () => switchFailover(target.flag, { ...change, actor: target.actor }, systemClock);
  if (!target.audit) {
    err.write(`warning: no audit entry written: ${target.noAuditBecause}. The flag itself records who (${target.actor}) and why.\n`);
    return { state: await apply(), code: EXIT.ok };
  }
  try {
    const context = {
      actor: target.actor,
      action: change.on ? 'failover.on' : 'failover.off',
      details: { reason: change.reason ?? '' },
    } as const;
    return { state: await audited(target.audit, systemClock, context, apply, (result) => ({ message: result.message })), code: EXIT.ok };
  } catch (error) {
    if (!(error instanceof AuditWriteError)) throw error;
    // The flag did change; only its record is missing.
    err.write(
      `shadowmail failover: the flag was switched, but its audit entry could not be written (${(error.cause as Error | undefined)?.message ?? error.message}); the flag itself names ${target.actor}\n`,
    );
    return { state: await target.flag.read(), code: EXIT.failed };
  }
}

interface FailoverTarget {
  flag: FailoverFlag;
  /** Where a switch is recorded; null with the reason in noAuditBecause. */
  audit: AuditLog | null;
  noAuditBecause: string;
  actor: string;
  where: string;
  /** How long the webmail there caches the flag (its SHADOWMAIL_FAILOVER_CACHE_SECONDS): the longest until users see a switch. */
  cacheSeconds: number;
  /** Opens what notices need (directory, senders); absent where there is none (--ssm-parameter, status). */
  notices?: () => Promise<NoticeTarget>;
  close(): Promise<void>;
}

interface NoticeTarget {
  directory: Pick<DirectoryStore, 'readState'>;
  parts: NoticeParts;
  close(): Promise<void>;
}

/**
 * The flag and audit log the options name: a deployed stack (--stack), an SSM parameter
 * by name (--ssm-parameter: status only, as no table is known to audit a switch in), or local mode's data directory.
 */
async function failoverTarget(
  values: {
    'data-dir'?: string | undefined;
    'ssm-parameter'?: string | undefined;
    stack?: string | undefined;
    region?: string | undefined;
  },
  switching: boolean,
  err: NodeJS.WritableStream,
): Promise<FailoverTarget> {
  const parameter = values['ssm-parameter'];
  if (parameter !== undefined) {
    if (values['data-dir'] !== undefined) throw new UsageError('give either --data-dir or --ssm-parameter, not both');
    if (values.stack !== undefined) throw new UsageError('give either --stack or --ssm-parameter, not both');
    if (!/^\/[A-Za-z0-9_.\-/]{1,1010}$/.test(parameter))
      throw new UsageError(`--ssm-parameter must be a parameter name such as /shadowmail/failover, not ${JSON.stringify(parameter)}`);
    // Every switch is audited (issue 14): a parameter by name comes with no table to write the entry to.
    if (switching) throw new UsageError('--ssm-parameter names no table, so the switch could not be audited: use --stack STACK_ID');
    const client = new SSMClient(cliAwsConfig(values.region));
    return {
      flag: new SsmFailoverFlag(client, parameter),
      audit: null,
      noAuditBecause: '--ssm-parameter names no table for the audit log (use --stack STACK_ID to have the switch audited)',
      actor: osActor(),
      cacheSeconds: DEPLOYED_CACHE_SECONDS,
      where: `SSM parameter ${parameter}${values.region ? ` (${values.region})` : ''}`,
      close: async () => client.destroy(),
    };
  }
  const target = cliTarget(values);
  if (target.kind === 'stack') {
    const deployed = await openDeployedFailover(target, switching);
    // The emergency switch never waits for STS: unconfirmed, it is recorded as the OS user (aws-caller.ts).
    const actor = switching ? await deployedActor(deployed.region, { warn: err }) : osActor();
    return { ...deployed, noAuditBecause: '', actor, cacheSeconds: DEPLOYED_CACHE_SECONDS, notices: () => openDeployedNotices(target) };
  }
  const env = target.dataDir ? { ...process.env, SHADOWMAIL_DATA_DIR: target.dataDir } : process.env;
  const config = readLocalConfig(env);
  const file = localWebPaths(config.dataDir).failoverFlag;
  const local = {
    flag: new FileFailoverFlag(file),
    actor: `cli:${userInfo().username}`,
    where: file,
    cacheSeconds: config.failoverCacheSeconds,
  };
  if (!switching) return { ...local, audit: null, noAuditBecause: '', close: async () => undefined };
  try {
    const audit = await openReopeningLocalAuditLog(config);
    const notices = async (): Promise<NoticeTarget> => ({
      directory: audit.directory,
      parts: localNoticeParts(config),
      close: async () => undefined,
    });
    return { ...local, audit, noAuditBecause: '', notices, close: () => audit.close() };
  } catch (error) {
    // An outage switch must not wait for the audit log: another process may hold the
    // data directory (a CLI running a resend worker). Say so loudly and switch.
    if (!(error instanceof ShadowmailError)) throw error;
    return {
      ...local,
      audit: null,
      noAuditBecause: `local mode's store cannot be opened (${error.message})`,
      close: async () => undefined,
    };
  }
}

/**
 * `on|off --notify [--dry-run]`: the notices are planned first (a deployment without
 * notices, or without a directory, stops here with nothing switched), then the flag is
 * switched as without --notify, then staff are told. A dry run switches nothing.
 */
async function switchAndNotify(
  target: FailoverTarget,
  options: { on: boolean; message: string | undefined; json: boolean; dryRun: boolean },
  reason: string | undefined,
  out: NodeJS.WritableStream,
  err: NodeJS.WritableStream,
): Promise<number> {
  if (!target.notices || !target.audit)
    throw new ShadowmailError(
      'NO_NOTICES',
      `notices need the audit log and the directory: ${target.noAuditBecause || 'not available here'}`,
    );
  const notices = await target.notices();
  try {
    const deps = { directory: notices.directory, sms: notices.parts.sms, mailer: notices.parts.mailer };
    const current = await target.flag.read().catch(() => FAILOVER_OFF);
    const projected: FailoverState = {
      ...current,
      on: options.on,
      since: current.on === options.on && current.since ? current.since : systemClock.now().toISOString(),
      message: options.on ? (options.message ?? (current.on ? current.message : '')) : '',
    };
    const plan = await planStaffNotices({ state: projected }, notices.parts.settings, deps);
    if (options.dryRun) {
      out.write(options.json ? `${JSON.stringify({ dryRun: true, ...plan }, null, 2)}\n` : formatPlan(plan));
      return EXIT.ok;
    }
    const switched = await switchFlag(
      target,
      {
        on: options.on,
        ...(options.message !== undefined && { message: options.message }),
        ...(reason !== undefined && { reason }),
      },
      err,
    );
    const { state } = switched;
    let { code } = switched;
    const result = await notifyStaff({ state, actor: target.actor, repeat: 'again' }, notices.parts.settings, {
      ...deps,
      audit: target.audit,
      clock: systemClock,
    });
    if (!result.audited) {
      err.write('shadowmail failover: the notices were sent, but their audit entry could not be written\n');
      code = EXIT.failed;
    } else if (code === EXIT.ok && result.failed.sms + result.failed.email > 0) code = EXIT.partial;
    out.write(
      options.json
        ? `${JSON.stringify({ ...state, notices: result }, null, 2)}\n`
        : `${formatFailover(state, target.where)}${formatResult(result)}`,
    );
    return code;
  } finally {
    notices.parts.close();
    await notices.close();
  }
}

/** The reconcile reminder (core/reconcile-reminder.ts) for this target, its window from when failover went on. */
async function reminderFor(
  target: FailoverTarget,
  values: { 'data-dir'?: string | undefined; stack?: string | undefined; region?: string | undefined },
): Promise<string> {
  const before = await target.flag.read().catch(() => null);
  const since = before?.on ? before.since : null;
  const where =
    values.stack !== undefined
      ? { stack: values.stack, region: values.region }
      : values['data-dir'] !== undefined
        ? { dataDir: values['data-dir'] }
        : undefined;
  return `${reconcileReminder({ since, target: where })}\n`;
}

function formatPlan(plan: NoticePlan): string {
  const indent = (text: string) => text.replace(/^/gm, '    ');
  const lines = [
    `dry run: nothing switched, nothing sent`,
    `notices   failover ${plan.direction} by ${plan.channels.join(' and ')}: ${plan.counts.sms} SMS, ${plan.counts.email} mails; ${plan.skipped} users skipped (no number or private address)`,
    `time      about ${plan.estimatedSeconds} s at the provider's rate`,
  ];
  if (plan.sms) {
    lines.push(
      `SMS       ${plan.sms.parts} part${plan.sms.parts === 1 ? '' : 's'} (${plan.sms.encoding === 'gsm7' ? 'GSM-7' : 'UCS-2'})${plan.direction === 'on' && !plan.sms.includesMessage ? "; the admin's message is not in it (too long), only in the mail and on the status page" : ''}:`,
      indent(plan.sms.text),
    );
  }
  if (plan.mail) lines.push(`mail      ${plan.mail.subject}`, indent(plan.mail.text.trimEnd()));
  lines.push('recipients');
  const width = Math.max(0, ...plan.recipients.map((r) => r.mailbox.length));
  for (const r of plan.recipients) {
    lines.push(
      `  ${r.mailbox.padEnd(width)}  ${r.sms ? `sms ${r.sms}` : ''}${r.sms && r.email ? '  ' : ''}${r.email ? `mail ${r.email}` : ''}`,
    );
  }
  if (plan.recipients.length === 0) lines.push('  (nobody)');
  return `${lines.join('\n')}\n`;
}

function formatResult(result: NoticeResult): string {
  const failures = Object.entries(result.failures).map(([name, count]) => `${name} ×${count}`);
  return [
    `notices   ${result.channels.map((channel) => `${channel} ${result.sent[channel]} sent${result.failed[channel] ? `, ${result.failed[channel]} failed` : ''}`).join('; ')}; ${result.skipped} skipped`,
    ...(failures.length > 0 ? [`failures  ${failures.join(', ')}`] : []),
    '',
  ].join('\n');
}

/**
 * The stacks set no SHADOWMAIL_FAILOVER_CACHE_SECONDS on the webmail and its sign-in trigger
 * (lib/), so they cache for the schema's default: the value the Lambda itself computes.
 */
const DEPLOYED_CACHE_SECONDS: number = webSettingsSchema[WEB_ENV.failoverCacheSeconds].parse(undefined);

function whenUsersSeeIt(cacheSeconds: number): string {
  return cacheSeconds === 0 ? 'users see this at once' : `users see this within ${cacheSeconds} s (the webmail's cache)`;
}

function formatFailover(state: FailoverState, where: string): string {
  const lines = [
    `failover  ${state.on ? 'ON — the emergency webmail is open' : 'off — normal operation, users are sent to Outlook'}`,
    `since     ${state.since ?? '-'}`,
  ];
  if (state.on) lines.push(`message   ${state.message ? state.message.replace(/\n/g, '\n          ') : '-'}`);
  lines.push(`changed   ${state.changedBy ?? '-'}${state.reason ? ` (${state.reason})` : ''}`, `flag      ${where}`);
  return `${lines.join('\n')}\n`;
}

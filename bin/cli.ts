// The `shadowmail` command line: admin tasks against local mode's data directory or,
// with --stack, a deployed stack (with the caller's AWS credentials; bin/commands/deployed-target.ts).
// `shadowmail trace …` (bin/commands/trace.ts), `shadowmail resend …` (bin/commands/resend.ts)
// `shadowmail directory sync|import|list` (bin/commands/directory.ts)
// `shadowmail doctor --stack ID` (bin/commands/doctor.ts), `shadowmail probe --to ADDR` (bin/commands/probe.ts)
// `shadowmail redrive --stack …` (bin/commands/redrive.ts)
// `shadowmail failover on [--message TEXT] [--reason TEXT] | off [--reason TEXT] | status [--json]`
//   (local mode's flag file, a deployed stack's SSM parameter with --stack, or any SSM
//   parameter with --ssm-parameter); a switch is audited like the admin page's.
import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import { SSMClient } from '@aws-sdk/client-ssm';
import { SsmFailoverFlag } from '../lambdas/adapters/aws/ssm-failover-flag.ts';
import { FileFailoverFlag } from '../lambdas/adapters/local/file-failover-flag.ts';
import { AuditWriteError, audited } from '../lambdas/core/audit.ts';
import { ShadowmailError } from '../lambdas/core/errors.ts';
import { MAX_FAILOVER_CACHE_MS, switchFailover } from '../lambdas/core/failover.ts';
import type { AuditLog } from '../lambdas/ports/audit-log.ts';
import { systemClock } from '../lambdas/ports/clock.ts';
import type { FailoverFlag, FailoverState } from '../lambdas/ports/failover-flag.ts';
import { localWebPaths, readLocalConfig } from '../lambdas/wiring/local-config.ts';
import { openReopeningLocalAuditLog } from '../lambdas/wiring/local-resend.ts';
import { costCommand } from './commands/cost.ts';
import { cliTarget, deployedActor, deployedTargetOptions, openDeployedFailover } from './commands/deployed-target.ts';
import { directoryCommand } from './commands/directory.ts';
import { doctorCommand } from './commands/doctor.ts';
import { probeCommand } from './commands/probe.ts';
import { redriveCommand } from './commands/redrive.ts';
import { resendCommand } from './commands/resend.ts';
import { traceCommand } from './commands/trace.ts';

const USAGE = `usage:
  shadowmail trace [--recipient ADDR] [--sender ADDR] [--message-id ID] [--subject TEXT] [--since T] [--until T] [--json] [TARGET]
  shadowmail resend --message-id ID [--to ADDR ...] [--no-wait] [TARGET]
  shadowmail resend (--mailbox ADDR | --all) --since T --until T [--no-wait] [TARGET]
  shadowmail resend (status | cancel) JOB [TARGET]
  shadowmail failover on [--message TEXT] [--reason TEXT] [TARGET | --ssm-parameter NAME [--region R]]
  shadowmail failover off [--reason TEXT] [TARGET | --ssm-parameter NAME [--region R]]
  shadowmail failover status [--json] [TARGET | --ssm-parameter NAME [--region R]]
  shadowmail directory (sync … | import FILE | list)   (shadowmail directory --help)
  shadowmail redrive --stack STACK_ID [--region REGION] [--queue QUEUE] [--dry-run]   (shadowmail redrive --help)
  shadowmail cost [--users N] [--messages-per-user N] [--size-kb N] [--nat] [--json]   (shadowmail cost --help)
  shadowmail doctor --stack STACK_ID [--region REGION] [--mailbox ADDR] [--dns-server IP[:PORT]] [--json]
  shadowmail probe --to ADDR [--from ADDR] [--via smtp://HOST[:PORT]] [--timeout SECONDS] [--json] [TARGET]

  trace     lists matching messages, newest first, with each recipient's delivery state.
  resend    sends stored mail to the primary again as a job, and follows it.
  failover  opens (on) or closes (off) the emergency webmail, or shows the flag. Users see
            a change within the webmail's cache time (at most 30 s). A switch is
            recorded in the audit log (who, why, the message).
  doctor    checks a deployed stack, read-only: SES, DNS, the way to Exchange, sign-in,
            alarms and queues; one line per check with what to do (shadowmail doctor --help).
  probe     sends one test message and follows it: received, indexed, relayed, the
            primary's 250, each with its time (shadowmail probe --help).
  redrive   moves the messages of a deployed stack's dead-letter queues back to work.
  (shadowmail trace --help, shadowmail resend --help for all options)

  TARGET is local mode's data directory (--data-dir DIR; default SHADOWMAIL_DATA_DIR or
  ./.shadowmail), or a deployed stack: --stack STACK_ID [--region REGION], the stackId of
  the deployment; its table, resend queue and failover parameter are read from the
  CloudFormation outputs of STACK_ID-stateful and STACK_ID-stateless. Against AWS the
  CLI acts with your own AWS credentials (environment, profile, SSO): IAM decides what
  you may do, and the audit log names you as cli:<os user>@<host>.
  --ssm-parameter NAME switches a parameter by name; it knows no table, so no audit
  entry is written (use --stack).`;

export async function main(
  argv: string[],
  out: NodeJS.WritableStream = process.stdout,
  err: NodeJS.WritableStream = process.stderr,
): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (command === 'trace') return await traceCommand(rest, out, err);
    if (command === 'resend') return await resendCommand(rest, out, err);
    if (command === 'failover') return await failover(rest, out, err);
    if (command === 'directory') return await directoryCommand(rest, out, err);
    if (command === 'redrive') return await redriveCommand(rest, out, err);
    if (command === 'cost') return await costCommand(rest, out, err);
    if (command === 'doctor') return await doctorCommand(rest, out, err);
    if (command === 'probe') return await probeCommand(rest, out, err);
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

async function failover(argv: string[], out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      message: { type: 'string' },
      reason: { type: 'string' },
      json: { type: 'boolean', default: false },
      'data-dir': { type: 'string' },
      'ssm-parameter': { type: 'string' },
      ...deployedTargetOptions,
    },
    allowPositionals: true,
    strict: true,
  });
  const [action, ...extra] = positionals;
  if (!['on', 'off', 'status'].includes(action ?? '') || extra.length > 0) {
    throw new ShadowmailError('USAGE', 'failover needs one of: on, off, status');
  }
  if (action !== 'on' && values.message !== undefined) throw new ShadowmailError('USAGE', '--message goes with failover on');
  if (action === 'status' && values.reason !== undefined) throw new ShadowmailError('USAGE', '--reason goes with failover on or off');
  const target = await failoverTarget(values, action !== 'status');
  try {
    if (action === 'status') {
      const state = await target.flag.read();
      out.write(values.json ? `${JSON.stringify(state, null, 2)}\n` : formatFailover(state, target.where));
      return 0;
    }
    const on = action === 'on';
    const change = () =>
      switchFailover(
        target.flag,
        {
          on,
          actor: target.actor,
          ...(values.message !== undefined && { message: values.message }),
          ...(values.reason !== undefined && { reason: values.reason }),
        },
        systemClock,
      );
    let state: FailoverState;
    let code = 0;
    if (target.audit) {
      try {
        // The same entry as the admin page's switch: action, actor, reason and the message users see.
        state = await audited(
          target.audit,
          systemClock,
          {
            actor: target.actor,
            action: on ? 'failover.on' : 'failover.off',
            details: { reason: values.reason ?? '' },
          },
          change,
          (result) => ({ message: result.message }),
        );
      } catch (error) {
        if (!(error instanceof AuditWriteError)) throw error;
        // The flag did change; only its record is missing.
        state = await target.flag.read();
        err.write(
          `shadowmail: the flag was switched, but its audit entry could not be written (${(error.cause as Error | undefined)?.message ?? error.message}); the flag itself names ${target.actor}\n`,
        );
        code = 1;
      }
    } else {
      err.write(`warning: no audit entry written: ${target.noAuditBecause}. The flag itself records who (${target.actor}) and why.\n`);
      state = await change();
    }
    out.write(
      values.json
        ? `${JSON.stringify(state, null, 2)}\n`
        : `${formatFailover(state, target.where)}users see this within ${MAX_FAILOVER_CACHE_MS / 1000} s (the webmail's cache)\n`,
    );
    return code;
  } finally {
    await target.close();
  }
}

interface FailoverTarget {
  flag: FailoverFlag;
  /** Where a switch is recorded; null with the reason in noAuditBecause. */
  audit: AuditLog | null;
  noAuditBecause: string;
  actor: string;
  where: string;
  close(): Promise<void>;
}

/**
 * The flag and audit log the options name: a deployed stack (--stack), an SSM parameter
 * by name (--ssm-parameter, no table known: no audit), or local mode's data directory.
 */
async function failoverTarget(
  values: {
    'data-dir'?: string | undefined;
    'ssm-parameter'?: string | undefined;
    stack?: string | undefined;
    region?: string | undefined;
  },
  switching: boolean,
): Promise<FailoverTarget> {
  const parameter = values['ssm-parameter'];
  if (parameter !== undefined) {
    if (values['data-dir'] !== undefined) throw new ShadowmailError('USAGE', 'give either --data-dir or --ssm-parameter, not both');
    if (values.stack !== undefined) throw new ShadowmailError('USAGE', 'give either --stack or --ssm-parameter, not both');
    if (!/^\/[A-Za-z0-9_.\-/]{1,1010}$/.test(parameter))
      throw new ShadowmailError(
        'USAGE',
        `--ssm-parameter must be a parameter name such as /shadowmail/failover, not ${JSON.stringify(parameter)}`,
      );
    const client = new SSMClient(values.region ? { region: values.region } : {});
    return {
      flag: new SsmFailoverFlag(client, parameter),
      audit: null,
      noAuditBecause: '--ssm-parameter names no table for the audit log (use --stack STACK_ID to have the switch audited)',
      actor: deployedActor(),
      where: `SSM parameter ${parameter}${values.region ? ` (${values.region})` : ''}`,
      close: async () => client.destroy(),
    };
  }
  const target = cliTarget(values);
  if (target.kind === 'stack') {
    const deployed = await openDeployedFailover(target, switching);
    return { ...deployed, noAuditBecause: '', actor: deployedActor() };
  }
  const env = target.dataDir ? { ...process.env, SHADOWMAIL_DATA_DIR: target.dataDir } : process.env;
  const config = readLocalConfig(env);
  const file = localWebPaths(config.dataDir).failoverFlag;
  const local = { flag: new FileFailoverFlag(file), actor: `cli:${userInfo().username}`, where: file };
  if (!switching) return { ...local, audit: null, noAuditBecause: '', close: async () => undefined };
  try {
    const audit = await openReopeningLocalAuditLog(config);
    return { ...local, audit, noAuditBecause: '', close: () => audit.close() };
  } catch (error) {
    // An outage switch must not wait for the audit log: another process may hold the
    // data directory (a CLI running a resend worker). Say so loudly and switch.
    if (!(error instanceof ShadowmailError)) throw error;
    return {
      ...local,
      audit: null,
      noAuditBecause: `local mode's table cannot be opened (${error.message})`,
      close: async () => undefined,
    };
  }
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

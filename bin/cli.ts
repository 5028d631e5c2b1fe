// The `shadowmail` command line: admin tasks against local mode's data directory.
// `shadowmail trace …` (bin/commands/trace.ts), `shadowmail resend …` (bin/commands/resend.ts)
// `shadowmail directory sync|import|list` (bin/commands/directory.ts)
// `shadowmail failover on [--message TEXT] [--reason TEXT] | off [--reason TEXT] | status [--json]`
//   (local mode's flag file, or a deployed stack's SSM parameter with --ssm-parameter)
import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import { SSMClient } from '@aws-sdk/client-ssm';
import { SsmFailoverFlag } from '../lambdas/adapters/aws/ssm-failover-flag.ts';
import { FileFailoverFlag } from '../lambdas/adapters/local/file-failover-flag.ts';
import { ShadowmailError } from '../lambdas/core/errors.ts';
import { MAX_FAILOVER_CACHE_MS, switchFailover } from '../lambdas/core/failover.ts';
import { systemClock } from '../lambdas/ports/clock.ts';
import type { FailoverFlag, FailoverState } from '../lambdas/ports/failover-flag.ts';
import { directoryCommand } from './commands/directory.ts';
import { resendCommand } from './commands/resend.ts';
import { traceCommand } from './commands/trace.ts';
import { localWebPaths, readLocalConfig } from '../lambdas/wiring/local-config.ts';

const USAGE = `usage:
  shadowmail trace [--recipient ADDR] [--sender ADDR] [--message-id ID] [--subject TEXT] [--since T] [--until T] [--json]
  shadowmail resend --message-id ID [--to ADDR ...]
  shadowmail resend (--mailbox ADDR | --all) --since T --until T [--no-wait]
  shadowmail resend (status | cancel) JOB
  shadowmail failover on [--message TEXT] [--reason TEXT] [TARGET]
  shadowmail failover off [--reason TEXT] [TARGET]
  shadowmail failover status [--json] [TARGET]
  shadowmail directory (sync … | import FILE | list)   (shadowmail directory --help)

  trace     lists matching messages, newest first, with each recipient's delivery state.
  failover  opens (on) or closes (off) the emergency webmail, or shows the flag. Users see
            a change within the webmail's cache time (at most 30 s).

  TARGET is local mode's data directory (--data-dir DIR; default SHADOWMAIL_DATA_DIR or
  ./.shadowmail), or a deployed stack: --ssm-parameter NAME [--region REGION]
  (AWS credentials from the usual environment / profile).`;

export async function main(argv: string[], out: NodeJS.WritableStream = process.stdout, err: NodeJS.WritableStream = process.stderr): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (command === 'trace') return await traceCommand(rest, out, err);
    if (command === 'resend') return await resendCommand(rest, out, err);
    if (command === 'failover') return await failover(rest, out);
    if (command === 'directory') return await directoryCommand(rest, out, err);
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

async function failover(argv: string[], out: NodeJS.WritableStream): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      message: { type: 'string' },
      reason: { type: 'string' },
      json: { type: 'boolean', default: false },
      'data-dir': { type: 'string' },
      'ssm-parameter': { type: 'string' },
      region: { type: 'string' },
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
  const { flag, where } = failoverTarget(values);
  if (action === 'status') {
    const state = await flag.read();
    out.write(values.json ? `${JSON.stringify(state, null, 2)}\n` : formatFailover(state, where));
    return 0;
  }
  const state = await switchFailover(
    flag,
    {
      on: action === 'on',
      actor: `cli:${userInfo().username}`,
      ...(values.message !== undefined && { message: values.message }),
      ...(values.reason !== undefined && { reason: values.reason }),
    },
    systemClock,
  );
  out.write(
    values.json
      ? `${JSON.stringify(state, null, 2)}\n`
      : `${formatFailover(state, where)}users see this within ${MAX_FAILOVER_CACHE_MS / 1000} s (the webmail's cache)\n`,
  );
  return 0;
}

function failoverTarget(values: { 'data-dir'?: string; 'ssm-parameter'?: string; region?: string }): { flag: FailoverFlag; where: string } {
  const parameter = values['ssm-parameter'];
  if (parameter !== undefined) {
    if (values['data-dir'] !== undefined) throw new ShadowmailError('USAGE', 'give either --data-dir or --ssm-parameter, not both');
    if (!/^\/[A-Za-z0-9_.\-/]{1,1010}$/.test(parameter)) throw new ShadowmailError('USAGE', `--ssm-parameter must be a parameter name such as /shadowmail/failover, not ${JSON.stringify(parameter)}`);
    const client = new SSMClient(values.region ? { region: values.region } : {});
    return { flag: new SsmFailoverFlag(client, parameter), where: `SSM parameter ${parameter}${values.region ? ` (${values.region})` : ''}` };
  }
  if (values.region !== undefined) throw new ShadowmailError('USAGE', '--region goes with --ssm-parameter');
  const env = values['data-dir'] ? { ...process.env, SHADOWMAIL_DATA_DIR: values['data-dir'] } : process.env;
  const file = localWebPaths(readLocalConfig(env).dataDir).failoverFlag;
  return { flag: new FileFailoverFlag(file), where: file };
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


// The `shadowmail` command line: admin tasks against local mode's data directory or,
// with --stack, a deployed stack (with the caller's AWS credentials; bin/commands/deployed-target.ts).
// One file per command in bin/commands/, each run in the frame of bin/commands/command.ts
// (usage errors, exit codes); this file only picks the command.

import { breakglassCommand } from './commands/breakglass.ts';
import { type Command, EXIT_STATUS_HELP, runCommand, UsageError } from './commands/command.ts';
import { costCommand } from './commands/cost.ts';
import { directoryCommand } from './commands/directory.ts';
import { doctorCommand } from './commands/doctor.ts';
import { exportCommand } from './commands/export.ts';
import { failoverCommand } from './commands/failover.ts';
import { idpCommand } from './commands/idp.ts';
import { probeCommand } from './commands/probe.ts';
import { reconcileCommand } from './commands/reconcile.ts';
import { redriveCommand } from './commands/redrive.ts';
import { resendCommand } from './commands/resend.ts';
import { traceCommand } from './commands/trace.ts';

/** The registry: every `shadowmail <command>` (test/unit/bin/cli.help.test.ts asks each for --help). */
export const COMMANDS = new Map<string, Command>([
  ['trace', traceCommand],
  ['resend', resendCommand],
  ['failover', failoverCommand],
  ['directory', directoryCommand],
  ['redrive', redriveCommand],
  ['cost', costCommand],
  ['doctor', doctorCommand],
  ['probe', probeCommand],
  // Local mode's break-glass drill: AD FS's stand-in down and up, admin accounts with password + TOTP.
  ['idp', idpCommand],
  ['breakglass', breakglassCommand],
  // A mailbox's messages as .eml files in a .zip (sites without IMAP, single users).
  ['export', exportCommand],

  // After the outage: the webmail's Sent mail and read state into Exchange over IMAP (issue 15).
  ['reconcile', reconcileCommand],
]);

const USAGE = `usage:
  shadowmail trace [--recipient ADDR] [--sender ADDR] [--message-id ID] [--subject TEXT] [--since T] [--until T] [--json] [TARGET]
  shadowmail resend --message-id ID [--to ADDR ...] [--no-wait] [TARGET]
  shadowmail resend (--mailbox ADDR | --all) --since T --until T [--no-wait] [TARGET]
  shadowmail resend (status | cancel) JOB [TARGET]
  shadowmail failover on [--message TEXT] [--reason TEXT] [--notify [--dry-run]] [TARGET]
  shadowmail failover off [--reason TEXT] [--notify [--dry-run]] [TARGET]
  shadowmail failover status [--json] [TARGET | --ssm-parameter NAME [--region R]]
  shadowmail directory (sync … | import FILE | list)   (shadowmail directory --help)
  shadowmail redrive --stack STACK_ID [--region REGION] [--queue QUEUE] [--dry-run]   (shadowmail redrive --help)
  shadowmail cost [--users N] [--messages-per-user N] [--size-kb N] [--nat] [--json]   (shadowmail cost --help)
  shadowmail doctor --stack STACK_ID [--region REGION] [--mailbox ADDR] [--dns-server IP[:PORT]] [--json]
  shadowmail probe --to ADDR [--from ADDR] [--via smtp://HOST[:PORT]] [--timeout SECONDS] [--json] [TARGET]
  shadowmail idp (down | up | status) [--data-dir DIR]
  shadowmail breakglass admin-setup USERNAME [--stack STACK_ID [--region REGION] | --data-dir DIR]   (shadowmail breakglass --help)
  shadowmail export --mailbox ADDR --out FILE.zip [--since T] [--until T] [--folder inbox|sent|all] [--include-quarantined] [--force] [TARGET]

  shadowmail reconcile --imap URL --user SERVICE --password-file FILE [--since T] [--until T] [--mailbox ADDR ...] [--read-state] [--dry-run] [--json] [TARGET]   (shadowmail reconcile --help)

  trace     lists matching messages, newest first, with each recipient's delivery state.
  resend    sends stored mail to the primary again as a job, and follows it.
  failover  opens (on) or closes (off) the emergency webmail, or shows the flag. Users see
            a change within the webmail's cache time (at most 30 s). A switch is
            recorded in the audit log (who, why, the message). --notify tells staff
            by SMS and/or private mail (--dry-run: who would get what).
  doctor    checks a deployed stack, read-only: SES, DNS, the way to Exchange, sign-in,
            alarms and queues; one line per check with what to do (shadowmail doctor --help).
  probe     sends one test message and follows it: received, indexed, relayed, the
            primary's 250, each with its time (shadowmail probe --help).
  redrive   moves the messages of a deployed stack's dead-letter queues back to work.
  idp       local mode: takes the company sign-in (AD FS's stand-in) down or up (drills).
  breakglass  sets up a break-glass admin account (password + TOTP) for when AD FS is down.
  export    writes one mailbox's messages as .eml files into a .zip (shadowmail export --help).

  reconcile   after the outage: appends what staff sent from the webmail to their Exchange
            Sent folder over IMAP and marks read what they read (shadowmail reconcile --help).
  (shadowmail COMMAND --help for all of a command's options)

  TARGET is local mode's data directory (--data-dir DIR; default SHADOWMAIL_DATA_DIR or
  ./.shadowmail), or a deployed stack: --stack STACK_ID [--region REGION], the stackId of
  the deployment; its table, resend queue and failover parameter are read from the
  CloudFormation outputs of STACK_ID-stateful and STACK_ID-stateless. Against AWS the
  CLI acts with your own AWS credentials (environment, profile, SSO): IAM decides what
  you may do, and the audit log names you as cli:<os user>@<host>.
  --ssm-parameter NAME reads a parameter by name (failover status); it knows no table
  to audit a switch in, so failover on/off refuse it (use --stack).

${EXIT_STATUS_HELP}`;

export async function main(
  argv: string[],
  out: NodeJS.WritableStream = process.stdout,
  err: NodeJS.WritableStream = process.stderr,
): Promise<number> {
  const [name, ...rest] = argv;
  const command = name === undefined ? undefined : COMMANDS.get(name);
  if (command) return command(rest, out, err);
  // `shadowmail help <command>` is that command's --help.
  const helped = name === 'help' && rest[0] !== undefined ? COMMANDS.get(rest[0]) : undefined;
  if (helped) return helped(['--help'], out, err);
  return runCommand('', USAGE, argv, { out, err }, async () => {
    throw new UsageError(name === undefined ? 'give a command' : `unknown command ${JSON.stringify(name)}`);
  });
}

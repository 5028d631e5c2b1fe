// `shadowmail reconcile`: after the outage, copies what staff sent from the webmail into
// their Exchange Sent Items over IMAP, and with --read-state marks read what they read
// (lambdas/core/reconcile.ts). Runs on the host next to Exchange, against local mode's
// data directory or a deployed stack (--stack, with the reconcile role's credentials).
// The job's journal is a file on this host (ports/reconcile-journal.ts): a restart of the
// same command after a kill resumes it.
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ImapflowMailboxes } from '../../lambdas/adapters/imap/imapflow-mailboxes.ts';
import { FileReconcileJournal } from '../../lambdas/adapters/local/file-reconcile-journal.ts';
import { SENT_PREFIX } from '../../lambdas/contract/raw-mail-bucket.ts';
import { ShadowmailError } from '../../lambdas/core/errors.ts';
import {
  DEFAULT_PENDING_DAYS,
  DEFAULT_RECONCILE_DAYS,
  DEFAULT_SENT_FOLDER_NAMES,
  type PlannedMailbox,
  type ReconcileReport,
  reconcile,
} from '../../lambdas/core/reconcile.ts';
import { headerSafeLine, withoutBidiControls } from '../../lambdas/core/text.ts';
import { parseTime } from '../../lambdas/core/time-input.ts';
import { systemClock } from '../../lambdas/ports/clock.ts';
import type { ImapLoginForm } from '../../lambdas/ports/imap-mailboxes.ts';
import { readLocalConfig } from '../../lambdas/wiring/local-config.ts';
import { openLocalMailData } from '../../lambdas/wiring/local-mail-data.ts';
import { deployedActor, osActor } from './aws-caller.ts';
import { command, EXIT, exitStatusHelp, UsageError } from './command.ts';
import { cliTarget, deployedTargetOptions, openDeployedMailStore } from './deployed-target.ts';
import { readPasswordFile } from './password-file.ts';

const MAX_TIMEOUT_SECONDS = 600;

export const RECONCILE_USAGE = `usage:
  shadowmail reconcile --imap URL --user SERVICE --password-file FILE
                       [--since T] [--until T] [--mailbox ADDR ...] [--read-state] [--dry-run] [--json]
                       [--login plain-authzid|exchange] [--sent-folder NAME ...]
                       [--starttls | --insecure] [--ca-file PEM] [--tls-servername NAME] [--timeout SECONDS]
                       [--data-dir DIR | --stack STACK_ID [--region REGION]]

  After the outage: every message sent from the webmail in [--since, --until) is appended
  to the sender's Sent folder on the primary (APPEND, \\Seen, the original date, the bytes
  as stored — with the Bcc line the sender's own copy keeps), unless a message with its
  Message-ID is there already: a second run appends nothing. With --read-state, what a
  user read in the webmail is marked read in INBOX once the forward has delivered it;
  not yet there → pending, retried by the next run for ${DEFAULT_PENDING_DAYS} days, then reported as not
  found (an inbox rule may have moved it). Deletions in the webmail are not applied.

  --imap URL         imaps://host[:993], or imap://host[:143] with --starttls
  --user SERVICE     the service account that opens every mailbox
  --password-file F  its password, in a file readable only by you (never on the command line)
  --login FORM       plain-authzid (default): SASL PLAIN with the mailbox as authorization
                     identity (RFC 4616; Dovecot master users, Cyrus admins);
                     exchange: LOGIN "SERVICE\\mailbox" (a service account with FullAccess)
  --mailbox ADDR     only these mailboxes (any of their addresses; repeatable); default:
                     every mailbox of the directory that sent or read something
  --since T --until T  the window, ISO 8601; default: the last ${DEFAULT_RECONCILE_DAYS} days up to now
  --sent-folder NAME   a localized Sent folder name to look for when the server has no
                     SPECIAL-USE \\Sent (repeatable; tried before: ${DEFAULT_SENT_FOLDER_NAMES.join(', ')})
  --dry-run          connect read-only and list what would be appended and marked read
  --json             the report as JSON on stdout (the progress bar stays on stderr)
  --starttls | --insecure  imap:// only: upgrade with STARTTLS, or (on a network you
                     trust) send the password in clear text
  --ca-file PEM      the CA that signed the server's certificate; --tls-servername NAME the
                     name to check it against
  --timeout SECONDS  bound on connecting and on every IMAP command (default 30)

  A killed run resumes when the same command is run again; its journal is
  <data-dir>/reconcile/journal.json, or ~/.local/state/shadowmail/reconcile-STACK_ID.json
  ($XDG_STATE_HOME) for --stack. Each run (not a dry run) is recorded in the audit log.
  A deployed stack is read with your AWS credentials: the stack's ReconcileRoleArn output
  names the role that may read exactly this (docs/deploy.md, "Reconcile").
${exitStatusHelp({
  badInput:
    'bad input, nothing written: a usage error, an unreadable password file, a refused login, an unknown mailbox or one without a Sent folder, a server that does not answer',
  partial: 'done in part: the server refused some messages, or a mailbox of the directory could not be opened (the report says which)',
})}`;

export const reconcileCommand = command('reconcile', RECONCILE_USAGE, run);

async function run(argv: string[], out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  if (argv.some((arg) => arg === '--password' || arg.startsWith('--password='))) {
    throw new UsageError('give the password in a file (--password-file): on the command line other users can read it (ps)');
  }
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      imap: { type: 'string' },
      user: { type: 'string' },
      'password-file': { type: 'string' },
      since: { type: 'string' },
      until: { type: 'string' },
      mailbox: { type: 'string', multiple: true, default: [] },
      'read-state': { type: 'boolean', default: false },
      'dry-run': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      login: { type: 'string', default: 'plain-authzid' },
      'sent-folder': { type: 'string', multiple: true, default: [] },
      starttls: { type: 'boolean', default: false },
      insecure: { type: 'boolean', default: false },
      'ca-file': { type: 'string' },
      'tls-servername': { type: 'string' },
      timeout: { type: 'string', default: '30' },
      'data-dir': { type: 'string' },
      ...deployedTargetOptions,
    },
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  const url = required(values.imap, '--imap');
  const user = required(values.user, '--user');
  const passwordFile = required(values['password-file'], '--password-file');
  const login = values.login as ImapLoginForm;
  if (login !== 'plain-authzid' && login !== 'exchange') throw new UsageError('--login must be plain-authzid or exchange');
  const timeout = Number(values.timeout);
  if (!/^\d+$/.test(values.timeout) || timeout < 1 || timeout > MAX_TIMEOUT_SECONDS)
    throw new UsageError(`--timeout must be a whole number of seconds from 1 to ${MAX_TIMEOUT_SECONDS}`);
  if (values.starttls && values.insecure) throw new UsageError('give either --starttls or --insecure, not both');
  if (/^imaps:/i.test(url) && (values.starttls || values.insecure)) throw new UsageError('--starttls and --insecure are for imap:// URLs');
  if (/^imap:/i.test(url) && !values.starttls && !values.insecure) {
    throw new UsageError(
      `${url} without --starttls sends the service account's password in clear text: add --starttls (and --ca-file), use imaps://, or give --insecure on a network you trust`,
    );
  }
  const until = values.until === undefined ? undefined : parseTime(values.until, '--until');
  const since = values.since === undefined ? undefined : parseTime(values.since, '--since');
  for (const name of values['sent-folder']) if (name.trim() === '') throw new UsageError('--sent-folder needs a folder name');
  const target = cliTarget(values);

  // The server's settings first (the adapter refuses a bad URL or clear text), then every
  // file the run needs, before anything is opened: a bad one is one line.
  let password = '';
  const ca = values['ca-file'] === undefined ? undefined : await readCa(values['ca-file']);
  const imap = new ImapflowMailboxes({
    url,
    user,
    password: async () => password,
    login,
    startTls: values.starttls,
    allowCleartext: values.insecure,
    ...(ca !== undefined && { ca }),
    ...(values['tls-servername'] !== undefined && { tlsServername: values['tls-servername'] }),
    timeoutMs: timeout * 1000,
  });
  password = await readPasswordFile(passwordFile, 'the IMAP password file', err);

  const local =
    target.kind === 'local'
      ? readLocalConfig(target.dataDir ? { ...process.env, SHADOWMAIL_DATA_DIR: target.dataDir } : process.env)
      : null;
  const journal = new FileReconcileJournal(
    local
      ? join(local.dataDir, 'reconcile', 'journal.json')
      : join(stateHome(), 'shadowmail', `reconcile-${(target as { stackId: string }).stackId}.json`),
  );
  const release = values['dry-run'] ? async () => undefined : await journal.lock();
  try {
    const deployed = local ? null : await openDeployedMailStore(target as { stackId: string; region: string | undefined });
    const data = deployed ?? (await openLocalMailData(local!));
    try {
      // Like export, reconcile can wait until STS names the caller (aws-caller.ts).
      const actor = deployed ? await deployedActor(deployed.target.region) : osActor();
      const bar = progressBar(err);
      const report = await reconcile(
        {
          actor,
          server: `${url} as ${user} (${login})`,
          mailboxes: values.mailbox,
          ...(since !== undefined && { since }),
          ...(until !== undefined && { until }),
          readState: values['read-state'],
          dryRun: values['dry-run'],
          sentFolderNames: [...values['sent-folder'], ...DEFAULT_SENT_FOLDER_NAMES],
        },
        { ...data, imap, journal, clock: systemClock, sentKeyPrefix: SENT_PREFIX, ...(bar && { progress: bar.update }) },
      ).finally(() => bar?.done());
      out.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report, data.where));
      return report.summary.failed > 0 ? EXIT.partial : EXIT.ok;
    } finally {
      await data.close();
    }
  } finally {
    await release();
  }
}

function required(value: string | undefined, name: string): string {
  if (value === undefined || value.trim() === '') throw new UsageError(`${name} is required`);
  return value;
}

async function readCa(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    throw new ShadowmailError('CA_FILE', `cannot read the CA file ${file}: ${(error as Error).message}`);
  }
}

function stateHome(): string {
  return process.env.XDG_STATE_HOME || join(homedir(), '.local', 'state');
}

/** A bar on stderr when it is a terminal (never in a pipe or a log): done/total and the mailbox. */
export function progressBar(
  err: NodeJS.WritableStream,
): { update: (done: number, total: number, mailbox: string) => void; done: () => void } | null {
  if (!(err as NodeJS.WriteStream).isTTY) return null;
  let shown = false;
  return {
    update: (done, total, mailbox) => {
      const width = 30;
      const filled = total === 0 ? width : Math.round((done / total) * width);
      err.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} ${mailbox}`.slice(0, 120).padEnd(120));
      shown = true;
    },
    done: () => {
      if (shown) err.write(`\r${' '.repeat(120)}\r`);
    },
  };
}

export function formatReport(report: ReconcileReport, where: string): string {
  const s = report.summary;
  const lines = [
    `${report.dryRun ? 'dry run: nothing appended, nothing marked — ' : ''}window ${report.window.since} – ${report.window.until}, from ${where}${report.resumed ? ' (resumed)' : ''}`,
  ];
  if (report.plan) for (const plan of report.plan) lines.push(...formatPlan(plan));
  else {
    for (const m of report.mailboxes) {
      lines.push(
        `${m.mailbox}  ${m.sentFolder ?? '-'}: appended ${m.appended}, already there ${m.alreadyThere}, marked read ${m.markedRead}, pending ${m.pending}, not found ${m.notFound.length}, failed ${m.failed.length}`,
      );
    }
  }
  for (const m of report.mailboxes) {
    for (const f of m.failed) lines.push(`  failed     ${m.mailbox} ${shown(f.messageId ?? '')}: ${shown(f.reason)}`);
    for (const n of m.notFound) lines.push(`  not found  ${m.mailbox} ${shown(n.messageId)}: ${shown(n.reason)}`);
  }
  lines.push(
    `total      ${report.dryRun ? 'would append' : 'appended'} ${report.dryRun ? report.plan!.reduce((n, p) => n + p.toAppend.length, 0) : s.appended}, already there ${s.alreadyThere}, ${report.dryRun ? 'would mark read' : 'marked read'} ${report.dryRun ? report.plan!.reduce((n, p) => n + p.toMarkRead.length, 0) : s.markedRead}, pending ${s.pending}, not found ${s.notFound}, failed ${s.failed}`,
    report.deletions,
  );
  if (s.pending > 0) lines.push('pending reads are retried by the next run (the same command later)');
  return `${lines.join('\n')}\n`;
}

function formatPlan(plan: PlannedMailbox): string[] {
  return [
    `${plan.mailbox}  ${plan.sentFolder ?? '-'}`,
    ...plan.toAppend.map((m) => `  would append     ${m.date}  ${shown(m.messageId)}  ${shown(m.subject)}`),
    ...plan.toMarkRead.map((m) => `  would mark read  ${shown(m.messageId)}  ${shown(m.subject)}`),
  ];
}

/** A value from a message or a server, safe on a terminal: one line, no C0/C1 controls (escape sequences), no bidi overrides. */
function shown(value: string): string {
  return withoutBidiControls(headerSafeLine(value));
}

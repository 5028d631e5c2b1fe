// `shadowmail export`: one mailbox's messages as .eml files in a .zip (lambdas/core/
// mailbox-export.ts; the zip: lambdas/adapters/zip/zip-file-archive.ts), for a site
// without IMAP for reconcile or for a single user. Local mode's data directory, or with
// --stack a deployed stack's table and raw mail bucket with the caller's AWS credentials.
// The output is checked before anything is read, and written under its name only at
// the end: an error, Ctrl-C or a kill leaves no half zip behind.
import { lstat, stat } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { openZipFileArchive } from '../../lambdas/adapters/zip/zip-file-archive.ts';
import { ShadowmailError } from '../../lambdas/core/errors.ts';
import { EXPORT_FOLDER_CHOICES, exportMailbox, type MailboxExportResult, QUARANTINE_FOLDER } from '../../lambdas/core/mailbox-export.ts';
import type { AuditLog } from '../../lambdas/ports/audit-log.ts';
import { systemClock } from '../../lambdas/ports/clock.ts';
import type { MessageArchive } from '../../lambdas/ports/message-archive.ts';
import type { MessageIndex } from '../../lambdas/ports/message-index.ts';
import type { RawMailStore } from '../../lambdas/ports/raw-mail-store.ts';
import { readLocalConfig } from '../../lambdas/wiring/local-config.ts';
import { openLocalResendSession } from '../../lambdas/wiring/local-resend.ts';
import { deployedActor } from './aws-caller.ts';
import { command, EXIT, exitStatusHelp, UsageError } from './command.ts';
import { type CliTarget, cliTarget, deployedTargetOptions, openDeployedMailStore } from './deployed-target.ts';

export const EXPORT_USAGE = `usage:
  shadowmail export --mailbox ADDR --out FILE.zip [--since TIME] [--until TIME]
                    [--folder ${EXPORT_FOLDER_CHOICES.join('|')}] [--include-quarantined] [--force]
                    [--data-dir DIR | --stack STACK_ID [--region REGION]]

  Writes the messages of one mailbox as .eml files into a .zip: each file is the message
  exactly as it was received or sent (Outlook opens it; drag it into a folder to keep it),
  one folder per mailbox folder (inbox/, sent/, deleted/), named
  "YYYY-MM-DD HHMM <subject> <id>.eml" with the time in UTC. For a site without IMAP for
  shadowmail reconcile, or for a single user.

  --mailbox ADDR         an address of the mailbox (an alias names the mailbox it belongs to)
  --since, --until TIME  received (or sent) in [since, until); ISO 8601 (2030-03-01,
                         2030-03-01T08:00:00Z); default: everything still kept
  --folder               inbox, sent, or all (inbox, sent and deleted; the default)
  --include-quarantined  also the quarantined messages (SES found a virus), under
                         ${QUARANTINE_FOLDER}/<folder>/; without it they are left out and counted
  --out FILE.zip         refused if it exists, unless --force replaces it; written to a
                         hidden file next to it and renamed at the end (owner-only, 0600);
                         a kill -9 may leave that hidden .FILE.zip.<id>.partial behind

  Each export is recorded in the audit log (mailbox.export: who, which mailbox, where to).
  Local mode: --data-dir (default SHADOWMAIL_DATA_DIR or ./.shadowmail). A deployed stack:
  --stack STACK_ID with your AWS credentials (IAM: cloudformation:DescribeStacks;
  dynamodb:GetItem, Query and PutItem on the table; s3:GetObject on the raw mail bucket
  and kms:Decrypt on its key, alias/STACK_ID/mail).
${exitStatusHelp({
  ok: 'done: every message in the window is in the zip',
  badInput: 'bad input, nothing written: a usage error, an output that exists, an unknown mailbox, no messages in the window',
  partial: 'done in part: the zip was written, but messages that expired or lost their raw bytes meanwhile are not in it',
  interrupted: 'stopped by Ctrl-C: nothing written',
})}`;

export const exportCommand = command('export', EXPORT_USAGE, exportToZip);

interface ExportSession {
  index: MessageIndex;
  audit: AuditLog;
  rawStore: RawMailStore;
  actor: string;
  close(): Promise<void>;
}

async function exportToZip(argv: string[], out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      mailbox: { type: 'string' },
      since: { type: 'string' },
      until: { type: 'string' },
      folder: { type: 'string', default: 'all' },
      'include-quarantined': { type: 'boolean', default: false },
      out: { type: 'string' },
      force: { type: 'boolean', default: false },
      'data-dir': { type: 'string' },
      ...deployedTargetOptions,
    },
    strict: true,
    allowPositionals: true,
  });
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  if (values.mailbox === undefined) throw new UsageError('give --mailbox');
  if (values.out === undefined) throw new UsageError('give --out FILE.zip');
  if (!/\.zip$/i.test(values.out)) throw new UsageError(`--out must name a .zip file, not ${JSON.stringify(values.out)}`);
  if (!(EXPORT_FOLDER_CHOICES as readonly string[]).includes(values.folder))
    throw new UsageError(`--folder must be one of ${EXPORT_FOLDER_CHOICES.join(', ')}, not ${JSON.stringify(values.folder)}`);
  const target = cliTarget(values);
  const outPath = resolve(values.out);
  await checkOutput(outPath, values.force);

  const session = await openExportSession(target);
  const opened: { archive?: MessageArchive } = {};
  let interrupted = false;
  // Ctrl-C or a terminating signal: the temporary zip goes, nothing appears under --out.
  const onSignal = () => {
    interrupted = true;
    void opened.archive?.abort();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const tty = (err as NodeJS.WriteStream).isTTY === true;
  try {
    const result = await exportMailbox(
      session.actor,
      {
        mailbox: values.mailbox,
        ...(values.since !== undefined && { since: values.since }),
        ...(values.until !== undefined && { until: values.until }),
        folder: values.folder,
        includeQuarantined: values['include-quarantined'],
        destination: outPath,
      },
      {
        index: session.index,
        rawStore: session.rawStore,
        audit: session.audit,
        clock: systemClock,
        openArchive: async () => {
          if (interrupted) throw new ShadowmailError('INTERRUPTED', 'interrupted');
          opened.archive = await openZipFileArchive(outPath, { overwrite: values.force });
          return opened.archive;
        },
        ...(tty && { onProgress: (exported: number) => err.write(`\rexporting: ${exported} messages\u001b[K`) }),
      },
    );
    if (tty) err.write('\r\u001b[K');
    out.write(formatExport(result, outPath));
    return result.missing.length > 0 ? EXIT.partial : EXIT.ok;
  } catch (error) {
    if (tty) err.write('\r\u001b[K');
    if (!interrupted) throw awsRefusal(error) ?? error;
    err.write(`shadowmail export: interrupted: nothing written to ${outPath}\n`);
    return EXIT.interrupted;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await session.close();
  }
}

/** Before anything is read: the directory exists, and --out is no directory and, without --force, no file. */
async function checkOutput(path: string, force: boolean): Promise<void> {
  const directory = await stat(dirname(path)).catch(() => null);
  if (!directory?.isDirectory()) throw new ShadowmailError('NO_DIRECTORY', `cannot write ${path}: ${dirname(path)} is not a directory`);
  const existing = await lstat(path).catch(() => null);
  if (existing?.isDirectory()) throw new ShadowmailError('EXISTS', `${path} is a directory`);
  if (existing && !force) throw new ShadowmailError('EXISTS', `${path} exists: nothing written (--force replaces it)`);
}

async function openExportSession(target: CliTarget): Promise<ExportSession> {
  if (target.kind === 'stack') {
    const store = await openDeployedMailStore(target);
    // Like trace, an export of someone's mail can wait until STS names the caller (aws-caller.ts).
    try {
      return { ...store, actor: await deployedActor(store.target.region) };
    } catch (error) {
      await store.close();
      throw error;
    }
  }
  const config = readLocalConfig(target.dataDir ? { ...process.env, SHADOWMAIL_DATA_DIR: target.dataDir } : process.env);
  const session = await openLocalResendSession(config, systemClock);
  return {
    index: session.index,
    audit: session.audit,
    rawStore: session.rawStore,
    actor: `cli:${userInfo().username}`,
    close: () => session.close(),
  };
}

/** AWS refusing the caller (permissions, credentials) as one line instead of a stack: nothing was written. */
function awsRefusal(error: unknown): ShadowmailError | null {
  const name = (error as { name?: unknown } | null)?.name;
  if (
    typeof name !== 'string' ||
    !/AccessDenied|InvalidAccessKeyId|SignatureDoesNotMatch|UnrecognizedClient|InvalidClientTokenId|ExpiredToken|Credentials|KMS/i.test(
      name,
    )
  )
    return null;
  const message = String((error as Error).message ?? '')
    .split('\n')[0]!
    .trim();
  return new ShadowmailError(
    'ACCESS_DENIED',
    `not allowed: ${name}: ${message}; nothing written (the IAM it needs: shadowmail export --help)`,
    {
      cause: error,
    },
  );
}

export function formatExport(result: MailboxExportResult, path: string): string {
  const window = `${result.since ? `from ${result.since}` : 'everything kept'}${result.until ? ` until ${result.until}` : ''}`;
  const lines = [
    `wrote ${path} (${result.archiveBytes} bytes): ${result.exported} message${result.exported === 1 ? '' : 's'} of ${result.mailbox}, ${result.folders.join(', ')}, ${window}`,
  ];
  if (result.quarantinedIncluded > 0)
    lines.push(`${result.quarantinedIncluded} quarantined (SES found a virus) included under ${QUARANTINE_FOLDER}/: open them with care`);
  if (result.quarantinedLeftOut > 0)
    lines.push(`${result.quarantinedLeftOut} quarantined left out (--include-quarantined adds them under ${QUARANTINE_FOLDER}/)`);
  if (result.missing.length > 0)
    lines.push(
      `${result.missing.length} not in the zip: expired or raw bytes gone before they could be read (${result.missing.slice(0, 10).join(', ')}${result.missing.length > 10 ? ', …' : ''})`,
    );
  return `${lines.join('\n')}\n`;
}

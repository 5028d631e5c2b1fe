// `shadowmail resend`: sends stored mail to the primary again — one message (to all or
// some of its recipients) or every message of a mailbox or of all mailboxes received
// in a time range (the point-in-time restore) — as a queued job, then follows it with
// a progress bar on a terminal (plain lines otherwise) and a summary. Also the job's
// status, cancel and the job list. Local mode: the job goes into the data directory;
// the running stack's resend worker executes it, and when none runs this process runs
// the worker itself until the job ends (it says so). Audited as cli:<os user>.
// A deployed stack (--stack): the job goes into the deployed table and its first step
// onto the deployed resend queue, with the caller's AWS credentials; the stack's resend
// function executes it and this command follows it by reading the job. Audited in the
// deployed table as cli:<os user>@<host>.
import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import { normalizeMessageId } from '../../lambdas/core/addresses.ts';
import { NotFoundError, ShadowmailError } from '../../lambdas/core/errors.ts';
import {
  cancelResend,
  getResendJob,
  isSettled,
  listResendJobs,
  type ResendRequest,
  type ResendStartDeps,
  startResend,
} from '../../lambdas/core/resend.ts';
import type { AuditLog } from '../../lambdas/ports/audit-log.ts';
import type { Clock } from '../../lambdas/ports/clock.ts';
import { systemClock } from '../../lambdas/ports/clock.ts';
import type { DeliveryLog } from '../../lambdas/ports/delivery-log.ts';
import type { MessageRecords } from '../../lambdas/ports/message-records.ts';
import type { MessageSearch } from '../../lambdas/ports/message-search.ts';
import type { ResendJob, ResendJobStore } from '../../lambdas/ports/resend-jobs.ts';
import { readLocalConfig } from '../../lambdas/wiring/local-config.ts';
import { openLocalResendSession } from '../../lambdas/wiring/local-resend.ts';
import { deployedActor } from './aws-caller.ts';
import { command, EXIT, exitStatusHelp, UsageError } from './command.ts';
import { cliTarget, deployedTargetOptions, openDeployedResend } from './deployed-target.ts';

export const RESEND_USAGE = `usage:
  shadowmail resend --message-id ID [--to ADDR ...] [--no-wait] [--json] [TARGET]
  shadowmail resend (--mailbox ADDR | --all) --since TIME --until TIME [--no-wait] [--json] [TARGET]
  shadowmail resend status JOB [--wait] [--json] [TARGET]
  shadowmail resend cancel JOB [TARGET]
  shadowmail resend list [--limit N] [--json] [TARGET]

  Sends stored mail to the primary again, byte for byte with its original envelope and
  two header lines on top (X-Shadowmail-Resent: <job>; <date>, and the forward's stamp).
  ID is the id trace shows or the Message-ID header; --to picks some of the message's
  envelope recipients. --mailbox/--all send every message received in [since, until)
  to the recipients filed in that mailbox (or to all of them): the point-in-time restore.
  TIME is ISO 8601 (2030-03-01, 2030-03-01T08:00:00Z).

  A resend is a job: the command queues it and follows it to the end with its progress
  and a summary (--no-wait: queue only). Local mode's running stack executes it; when
  none is running, this command runs the worker itself until the job ends. A deployed
  stack's resend function executes it; this command follows it (Ctrl-C stops following,
  not the job).

  TARGET is local mode's data directory (--data-dir DIR; default SHADOWMAIL_DATA_DIR or
  ./.shadowmail), or a deployed stack: --stack STACK_ID [--region REGION], which reads
  the table and the resend queue from the outputs of STACK_ID-stateful and acts with
  your AWS credentials (IAM: cloudformation:DescribeStacks, dynamodb item access on the
  table, sqs:SendMessage on the resend queue).
${exitStatusHelp({
  ok: 'all delivered (or queued, with --no-wait)',
  partial: 'some recipients failed or messages were skipped',
  jobFailed: 'the job was cancelled or failed',
  interrupted: 'stopped following (Ctrl-C); the job goes on',
})}`;

const POLL_MS = 250;
const DEPLOYED_POLL_MS = 1_000;
const PLAIN_PROGRESS_EVERY_MS = 2_000;
const BAR_WIDTH = 30;

export const resendCommand = command('resend', RESEND_USAGE, async ([first, ...rest], out, err) => {
  if (first === 'status') return status(rest, out, err);
  if (first === 'cancel') return cancel(rest, out, err);
  if (first === 'list') return list(rest, out);
  if (first === undefined) throw new UsageError('give one of --message-id, --mailbox or --all, or status, cancel, list');
  return start([first, ...rest], out, err);
});

const targetOptions = { 'data-dir': { type: 'string' }, ...deployedTargetOptions } as const;

/** Where resend jobs are kept and run: local mode's data directory or a deployed stack. */
interface ResendSession {
  index: MessageRecords & DeliveryLog & MessageSearch;
  jobs: ResendJobStore;
  audit: AuditLog;
  startDeps: ResendStartDeps;
  /**
   * Who an action is recorded as. On a deployed stack the AWS caller (aws-caller.ts); when STS
   * cannot say, with `fallBack` the OS user (a brake such as cancel must not wait), else refused.
   */
  actor(fallBack?: { warn: NodeJS.WritableStream }): Promise<string>;
  /** `worker`: a worker elsewhere (the local stack, another CLI, the deployed function) runs jobs; `in-process`: nobody does, startWorker() runs it here. */
  mode: 'worker' | 'in-process';
  /** Where the data and the worker are, for messages. */
  where: string;
  /** How often follow() reads the job. */
  pollMs: number;
  deployed: boolean;
  startWorker(clock: Clock): Promise<void>;
  close(): Promise<void>;
}

async function openSession(values: {
  'data-dir'?: string | undefined;
  stack?: string | undefined;
  region?: string | undefined;
}): Promise<ResendSession> {
  const target = cliTarget(values);
  if (target.kind === 'stack') {
    const deployed = await openDeployedResend(target, systemClock);
    return {
      ...deployed,
      actor: (fallBack) => deployedActor(deployed.target.region, fallBack),
      mode: 'worker',
      where: deployed.target.where,
      // Each read is one consistent GetItem on the deployed table: once a second is plenty.
      pollMs: DEPLOYED_POLL_MS,
      deployed: true,
      startWorker: () => Promise.reject(new ShadowmailError('NO_WORKER', 'a deployed stack runs its own resend worker')),
    };
  }
  const config = readLocalConfig(target.dataDir ? { ...process.env, SHADOWMAIL_DATA_DIR: target.dataDir } : process.env);
  const local = await openLocalResendSession(config, systemClock);
  return {
    index: local.index,
    jobs: local.jobs,
    audit: local.audit,
    startDeps: local.startDeps,
    mode: local.mode,
    where: local.where,
    actor: async () => `cli:${userInfo().username}`,
    pollMs: POLL_MS,
    deployed: false,
    startWorker: (clock) => local.startWorker(clock),
    close: () => local.close(),
  };
}

async function start(argv: string[], out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      'message-id': { type: 'string' },
      to: { type: 'string', multiple: true },
      mailbox: { type: 'string' },
      all: { type: 'boolean', default: false },
      since: { type: 'string' },
      until: { type: 'string' },
      'no-wait': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      ...targetOptions,
    },
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length > 0) throw new UsageError(`unexpected ${JSON.stringify(positionals[0])}`);
  const single = values['message-id'] !== undefined;
  const scopes = [single, values.mailbox !== undefined, values.all].filter(Boolean).length;
  if (scopes !== 1) throw new UsageError('give one of --message-id, --mailbox or --all');
  if (single && (values.since !== undefined || values.until !== undefined))
    throw new UsageError('--since/--until go with --mailbox or --all');
  if (!single && values.to !== undefined) throw new UsageError('--to goes with --message-id');
  if (!single && (values.since === undefined || values.until === undefined))
    throw new UsageError('a bulk resend needs --since and --until');

  const session = await openSession(values);
  try {
    // Starting a resend can wait for STS: unconfirmed, it is refused before anything is read.
    const actor = await session.actor();
    let request: ResendRequest;
    if (single) {
      const sesMessageId = await resolveMessage(values['message-id']!, session);
      request = { kind: 'message', sesMessageId, ...(values.to !== undefined && { recipients: values.to }) };
    } else {
      request = values.all
        ? { kind: 'all', since: values.since!, until: values.until! }
        : { kind: 'mailbox', mailbox: values.mailbox!, since: values.since!, until: values.until! };
    }
    const job = await startResend(actor, request, session.startDeps);
    err.write(`resend job ${job.id} queued (${describeScope(job)})\n`);
    if (values['no-wait']) {
      const hint = session.deployed
        ? `the resend function of ${session.where} runs it: follow it with \`shadowmail resend status ${job.id} --wait --stack ${values.stack}${values.region ? ` --region ${values.region}` : ''}\``
        : session.mode === 'worker'
          ? `it runs in ${session.where}`
          : 'no resend worker is running: it runs when local mode starts (npm start) or with `shadowmail resend status ' +
            job.id +
            ' --wait`';
      err.write(`${hint}\n`);
      if (values.json) out.write(`${JSON.stringify(job, null, 2)}\n`);
      else out.write(`${job.id}\n`);
      return EXIT.ok;
    }
    return await follow(job.id, session, values.json, out, err);
  } finally {
    await session.close();
  }
}

/** The id trace shows, or else a Message-ID header that names exactly one message. */
async function resolveMessage(id: string, session: ResendSession): Promise<string> {
  const now = systemClock.now();
  if (/^[\x21-\x7e]{1,256}$/.test(id) && (await session.index.getMessage(id, now))) return id;
  const page = await session.index.searchMessages({ messageIdHeader: normalizeMessageId(id), limit: 20 }, now);
  if (page.messages.length === 1) return page.messages[0]!.sesMessageId;
  if (page.messages.length === 0) throw new NotFoundError(`no message with the id or Message-ID ${id} (unknown, or past its retention)`);
  const ids = page.messages.map((message) => `${message.sesMessageId} (${message.receivedAt})`).join(', ');
  throw new UsageError(`the Message-ID ${id} names ${page.messages.length} messages: give one of these ids: ${ids}`);
}

async function status(argv: string[], out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { wait: { type: 'boolean', default: false }, json: { type: 'boolean', default: false }, ...targetOptions },
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length !== 1) throw new UsageError('status needs the job id');
  const session = await openSession(values);
  try {
    const job = await getResendJob(positionals[0]!, { jobs: session.jobs, clock: systemClock });
    if (values.wait && !isSettled(job)) return await follow(job.id, session, values.json, out, err);
    out.write(values.json ? `${JSON.stringify(job, null, 2)}\n` : formatJob(job));
    return exitCode(job);
  } finally {
    await session.close();
  }
}

async function cancel(argv: string[], out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: { ...targetOptions }, allowPositionals: true, strict: true });
  if (positionals.length !== 1) throw new UsageError('cancel needs the job id');
  const session = await openSession(values);
  try {
    const job = await cancelResend(await session.actor({ warn: err }), positionals[0]!, {
      jobs: session.jobs,
      audit: session.audit,
      clock: systemClock,
    });
    if (job.state === 'cancelled') {
      out.write(`resend job ${job.id} cancelled: nothing more is sent; messages still queued count as skipped (cancelled)\n`);
    } else {
      out.write(`resend job ${job.id} had already ended (${job.state})\n`);
    }
    out.write(formatJob(job));
    return EXIT.ok;
  } finally {
    await session.close();
  }
}

async function list(argv: string[], out: NodeJS.WritableStream): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { limit: { type: 'string', default: '20' }, json: { type: 'boolean', default: false }, ...targetOptions },
    strict: true,
  });
  const limit = Number(values.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 500) throw new UsageError('--limit must be a number from 1 to 500');
  const session = await openSession(values);
  try {
    const page = await listResendJobs({ limit }, { jobs: session.jobs, clock: systemClock });
    if (values.json) {
      out.write(`${JSON.stringify(page.jobs, null, 2)}\n`);
    } else if (page.jobs.length === 0) {
      out.write('no resend jobs\n');
    } else {
      for (const job of page.jobs) {
        const c = job.counters;
        out.write(
          `${job.id}  ${job.state.padEnd(9)} ${job.createdAt}  ${job.createdBy}  ${describeScope(job)}  ${c.done}/${c.total} messages, ${c.delivered} delivered, ${c.failed} failed, ${c.skipped} skipped\n`,
        );
      }
    }
    return EXIT.ok;
  } finally {
    await session.close();
  }
}

/**
 * Follows a job to its end: starts the worker here when nobody runs one, shows progress
 * (a bar on a terminal, a line every few seconds otherwise), then the summary.
 */
async function follow(
  jobId: string,
  session: ResendSession,
  json: boolean,
  out: NodeJS.WritableStream,
  err: NodeJS.WritableStream,
): Promise<number> {
  const clock: Clock = systemClock;
  if (session.mode === 'in-process') {
    err.write(
      'no local stack with a resend worker is running: this process runs the worker until the job ends (Ctrl-C stops it; the job goes on when a worker runs again)\n',
    );
    await session.startWorker(clock);
  } else {
    err.write(`the resend ${session.deployed ? 'function' : 'worker'} of ${session.where} executes the job\n`);
  }
  const tty = (err as NodeJS.WriteStream).isTTY === true;
  const started = Date.now();
  let interrupted = false;
  const onInterrupt = () => {
    interrupted = true;
  };
  process.once('SIGINT', onInterrupt);
  let lastPlain = 0;
  let job = await getResendJob(jobId, { jobs: session.jobs, clock });
  try {
    while (!isSettled(job) && !interrupted) {
      if (tty) err.write(`\r${progressBar(job)}\u001b[K`);
      else if (Date.now() - lastPlain >= PLAIN_PROGRESS_EVERY_MS) {
        lastPlain = Date.now();
        err.write(`${progressLine(job)}\n`);
      }
      await new Promise((resolve) => setTimeout(resolve, session.pollMs));
      job = await getResendJob(jobId, { jobs: session.jobs, clock });
    }
  } finally {
    process.off('SIGINT', onInterrupt);
  }
  if (tty) err.write(`\r${progressBar(job)}\u001b[K\n`);
  if (interrupted) {
    err.write(
      session.deployed
        ? `stopped following: resend job ${job.id} goes on in ${session.where} (shadowmail resend status ${job.id} --wait --stack …)\n`
        : `interrupted: resend job ${job.id} goes on when a worker runs (shadowmail resend status ${job.id} --wait)\n`,
    );
    return EXIT.interrupted;
  }
  const seconds = (Date.now() - started) / 1000;
  out.write(json ? `${JSON.stringify(job, null, 2)}\n` : formatJob(job, seconds));
  return exitCode(job);
}

function exitCode(job: ResendJob): number {
  if (job.state === 'cancelled' || job.state === 'failed') return EXIT.jobFailed;
  if (!isSettled(job)) return EXIT.ok;
  return job.counters.failed > 0 || job.counters.skipped > 0 ? EXIT.partial : EXIT.ok;
}

function describeScope(job: ResendJob): string {
  const scope = job.scope;
  if (scope.kind === 'message') return `message ${scope.sesMessageId}${scope.recipients ? ` to ${scope.recipients.join(', ')}` : ''}`;
  const range = `received ${scope.since} – ${scope.until}`;
  return scope.kind === 'mailbox' ? `mailbox ${scope.mailbox}, ${range}` : `all mailboxes, ${range}`;
}

function counts(job: ResendJob): string {
  const c = job.counters;
  const parts = [`${c.delivered} delivered`, `${c.failed} failed`, `${c.skipped} skipped`];
  if (c.deferred > 0) parts.push(`${c.deferred} waiting to retry`);
  return parts.join(' · ');
}

export function progressBar(job: ResendJob): string {
  const c = job.counters;
  if (!job.enumerated) return `resend ${job.id}: finding messages… ${c.total} queued, ${c.done} done · ${counts(job)}`;
  const share = c.total === 0 ? 1 : Math.min(1, c.done / c.total);
  const filled = Math.round(share * BAR_WIDTH);
  return `[${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}] ${String(Math.floor(share * 100)).padStart(3)}%  ${c.done}/${c.total} messages · ${counts(job)}`;
}

export function progressLine(job: ResendJob): string {
  const c = job.counters;
  return `resend ${job.id}: ${job.state}, ${c.done}/${c.total}${job.enumerated ? '' : '+'} messages · ${counts(job)}`;
}

export function formatJob(job: ResendJob, seconds?: number): string {
  const c = job.counters;
  const lines = [
    `resend job ${job.id}  ${job.state}${seconds !== undefined ? ` after ${seconds.toFixed(1)} s` : ''}`,
    `  scope       ${describeScope(job)}`,
    `  requested   ${job.createdAt} by ${job.createdBy}`,
  ];
  if (job.cancelledAt) lines.push(`  cancelled   ${job.cancelledAt} by ${job.cancelledBy}`);
  if (job.finishedAt) lines.push(`  finished    ${job.finishedAt}`);
  if (job.error) lines.push(`  error       ${job.error}`);
  const reasons = Object.entries(job.skippedBy)
    .filter(([, n]) => n > 0)
    .map(([reason, n]) => `${n} ${reason}`);
  lines.push(
    `  messages    ${c.total}${job.enumerated ? '' : '+ (still finding messages)'}: ${c.done - c.skipped} sent, ${c.skipped} skipped${reasons.length ? ` (${reasons.join(', ')})` : ''}${c.done < c.total ? `, ${c.total - c.done} to go` : ''}`,
    `  recipients  ${c.delivered} delivered, ${c.failed} failed${c.deferred ? `, ${c.deferred} waiting to retry` : ''}${c.cancelled ? `, ${c.cancelled} not retried (cancelled)` : ''}`,
  );
  if (c.inDoubt > 0) {
    lines.push(
      `  note        ${c.inDoubt} relay${c.inDoubt === 1 ? ' was' : 's were'} interrupted (a worker stopped) and sent again: those messages may have arrived twice`,
    );
  }
  return `${lines.join('\n')}\n`;
}

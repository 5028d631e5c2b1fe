// `shadowmail redrive --stack ID [--region R] [--queue LABEL] [--dry-run]`: the runbook step
// for a dead-letter-queue alarm. Once the cause is fixed, the messages of a deployment's
// DLQs go back to work: the ingest, forward and resend DLQs by an SQS message move task
// (followed here to its end), the notifications DLQ — SES notifications SNS could not
// deliver, which a move task cannot redrive — by copying each to the ingest queue.
// Deployed stacks only: local mode's file queues keep no dead letters.
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import type { DeadLetterRedrive, RedriveProgress } from '../../lambdas/ports/dead-letter-redrive.ts';
import { DEAD_LETTER_QUEUE_LABELS, type DeadLetterQueueLabel } from '../../lib/stack-outputs.ts';
import { command, EXIT, exitStatusHelp, UsageError } from './command.ts';
import { cliTarget, deployedTargetOptions, openDeployedRedrive } from './deployed-target.ts';

export const REDRIVE_USAGE = `usage:
  shadowmail redrive --stack STACK_ID [--region REGION] [--queue ${DEAD_LETTER_QUEUE_LABELS.join('|')}] [--dry-run]

  Moves the messages of a deployment's dead-letter queues back to work once the cause of
  the failures is fixed (the alarm <stackId>-dlq-<queue>-not-empty names the queue).
  Without --queue: every dead-letter queue that holds messages.
    ingest, forward, resend  an SQS message move task back to the queue each message came
                             from (what the SQS console's "Start DLQ redrive" does); the
                             command follows it to the end.
    notifications            SES notifications SNS could not deliver to the ingest queue. A
                             move task cannot redrive what SNS put into a queue, so each one
                             is copied to the ingest queue unchanged and deleted from the
                             dead-letter queue only after SQS accepted the copy.
  --dry-run  show how many messages wait in each queue; move nothing.

  The queues are read from the outputs of STACK_ID-stateful; the command acts with your AWS
  credentials. IAM: cloudformation:DescribeStacks on the stack; sqs:GetQueueAttributes,
  sqs:ReceiveMessage and sqs:DeleteMessage on the dead-letter queues; sqs:StartMessageMoveTask
  and sqs:ListMessageMoveTasks on the ingest, forward and resend dead-letter queues;
  sqs:SendMessage on the ingest, forward and resend queues.
${exitStatusHelp({
  ok: 'everything moved (or nothing to move)',
  partial: 'a move failed or left messages behind (its line says why)',
})}`;

/** How often a running move task is read, and how long it is followed. */
const POLL_MS = 2_000;
const FOLLOW_MS = 10 * 60_000;
const LABEL_WIDTH = 15;

export const redriveCommand = command('redrive', REDRIVE_USAGE, redrive);

async function redrive(argv: string[], out: NodeJS.WritableStream): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { queue: { type: 'string' }, 'dry-run': { type: 'boolean', default: false }, ...deployedTargetOptions },
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length > 0) throw new UsageError(`unexpected ${JSON.stringify(positionals[0])}`);
  if (values.stack === undefined) throw new UsageError('--stack STACK_ID is required: only a deployed stack has dead-letter queues');
  const queue = values.queue;
  if (queue !== undefined && !(DEAD_LETTER_QUEUE_LABELS as readonly string[]).includes(queue)) {
    throw new UsageError(`--queue must be one of ${DEAD_LETTER_QUEUE_LABELS.join(', ')}, not ${JSON.stringify(queue)}`);
  }
  const target = cliTarget(values);
  if (target.kind !== 'stack') throw new UsageError('--stack STACK_ID is required');
  const labels = queue === undefined ? DEAD_LETTER_QUEUE_LABELS : [queue as DeadLetterQueueLabel];
  const deployed = await openDeployedRedrive(target, labels);
  try {
    let moved = 0;
    let troubled = 0;
    for (const { label, redrive } of deployed.queues) {
      const outcome = await redriveOne(label, redrive, values['dry-run'], out);
      moved += outcome.moved;
      if (outcome.troubled) troubled += 1;
    }
    const verb = values['dry-run'] ? 'would move' : 'moved';
    out.write(
      `redrive of ${deployed.target.where}: ${moved} message${moved === 1 ? '' : 's'} ${verb}${troubled > 0 ? `, ${troubled} queue${troubled === 1 ? '' : 's'} need attention` : ''}\n`,
    );
    return troubled > 0 ? EXIT.partial : EXIT.ok;
  } finally {
    await deployed.close();
  }
}

async function redriveOne(
  label: DeadLetterQueueLabel,
  redrive: DeadLetterRedrive,
  dryRun: boolean,
  out: NodeJS.WritableStream,
): Promise<{ moved: number; troubled: boolean }> {
  const line = (text: string) => out.write(`${label.padEnd(LABEL_WIDTH)}${text}\n`);
  const running = await redrive.current();
  if (running) {
    line(
      `a move started ${running.startedAt ?? 'earlier'} is still running (${describe(running)}): ${dryRun ? 'not following it' : 'following it'}`,
    );
    if (dryRun) return { moved: 0, troubled: false };
    return finish(line, redrive, await follow(redrive, running));
  }
  const { waiting, inFlight } = await redrive.depth();
  const held = inFlight > 0 ? ` (${inFlight} in flight stay: someone received them; run again when they are visible)` : '';
  if (waiting === 0) {
    line(`empty${held}`);
    return { moved: 0, troubled: false };
  }
  if (dryRun) {
    line(`${waiting} waiting: would move them back to ${redrive.destination}${held}`);
    return { moved: waiting, troubled: false };
  }
  line(`${waiting} waiting: moving them back to ${redrive.destination}${held}`);
  return finish(line, redrive, await follow(redrive, await redrive.start()));
}

/** Reads a running move until it ends or FOLLOW_MS passed, printing its progress as it changes. */
async function follow(redrive: DeadLetterRedrive, first: RedriveProgress): Promise<RedriveProgress> {
  let progress = first;
  const deadline = Date.now() + FOLLOW_MS;
  while ((progress.state === 'running' || progress.state === 'cancelling') && Date.now() < deadline) {
    await sleep(POLL_MS);
    progress = (await redrive.latest()) ?? progress;
  }
  return progress;
}

function finish(line: (text: string) => void, redrive: DeadLetterRedrive, progress: RedriveProgress): { moved: number; troubled: boolean } {
  if (progress.state === 'running' || progress.state === 'cancelling') {
    line(`still ${progress.state} (${describe(progress)}): SQS goes on moving; \`shadowmail redrive --dry-run\` shows what is left`);
    return { moved: progress.moved, troubled: false };
  }
  if (progress.state === 'completed') {
    line(`done: ${describe(progress)} back to ${redrive.destination}`);
    return { moved: progress.moved, troubled: false };
  }
  line(`${progress.state.toUpperCase()}: ${describe(progress)}${progress.failureReason ? ` — ${progress.failureReason}` : ''}`);
  return { moved: progress.moved, troubled: true };
}

function describe(progress: RedriveProgress): string {
  return progress.toMove === undefined ? `${progress.moved} moved` : `${progress.moved} of ${progress.toMove} moved`;
}

// The forward handler: SQS batch of forward jobs → forward use case, per record (wired
// in AWS by lambdas/entry/forward.ts, which also routes the smart-host probe).

import { METRIC } from '../contract/metrics.ts';
import { describeConfigurationFault } from '../core/configuration-fault.ts';
import { type ForwardDeps, forwardMessage } from '../core/forward.ts';
import type { ForwardJob } from '../core/model.ts';
import { type NonDeliveryDeps, reportNonDeliveries } from '../core/report-non-delivery.ts';
import { parseJsonMessage } from './json-message.ts';
import { MetricUnit } from './observability.ts';
import { type SqsBatchDeps, type SqsHandler, sqsBatchHandler } from './sqs-batch.ts';
import * as z from './zod-mini.ts';

export type ForwardHandlerDeps = Omit<ForwardDeps, 'workerId'> &
  SqsBatchDeps & {
    workerId?: string;
    /** Where non-delivery reports go (issue 17); absent: none are sent. */
    nonDelivery?: Pick<NonDeliveryDeps, 'sender' | 'counter'> & { reportingMta: string };
  };

const forwardJobSchema = z.object({
  sesMessageId: z.string().check(z.minLength(1)),
  receivedAt: z.iso.datetime({ offset: true }),
  attempt: z.number().check(z.int(), z.nonnegative()),
  // The recipients of one receipt rule's notification (core/forward-part.ts); the bounds only refuse a malformed job.
  recipients: z.optional(z.array(z.string().check(z.minLength(1), z.maxLength(1000))).check(z.minLength(1), z.maxLength(1000))),
});

export function parseForwardJob(body: string): ForwardJob {
  return parseJsonMessage(body, forwardJobSchema, 'forward job');
}

export function createForwardHandler(deps: ForwardHandlerDeps): SqsHandler {
  const { logger, metrics } = deps;
  return sqsBatchHandler(
    deps,
    async (sqsRecord, workerId) => {
      const job = parseForwardJob(sqsRecord.body);
      try {
        const outcome = await forwardMessage(job, { ...deps, workerId });
        logger.info('forward', { sesMessageId: job.sesMessageId, attempt: job.attempt, ...outcome });
        if (outcome.status === 'attempted') {
          metrics.addMetric(METRIC.recipientsDelivered, MetricUnit.Count, outcome.delivered.length);
          metrics.addMetric(METRIC.recipientsDeferred, MetricUnit.Count, outcome.deferred.length);
          metrics.addMetric(METRIC.recipientsFailed, MetricUnit.Count, outcome.failed.length);
          if (outcome.configurationFault) {
            metrics.addMetric(METRIC.smartHostConfigurationFaults, MetricUnit.Count, 1);
            logger.warn('smart host configuration fault', {
              sesMessageId: job.sesMessageId,
              configurationFault: outcome.configurationFault,
              detail: describeConfigurationFault(outcome.configurationFault),
            });
          }
          // The backlog alarm's signal: a deferred job goes back to SQS as a new message, so
          // the queue's own "age of oldest message" restarts with every retry; this does not.
          if (outcome.deferred.length > 0) {
            const ageSeconds = Math.max(0, (deps.clock.now().getTime() - Date.parse(job.receivedAt)) / 1000);
            metrics.addMetric(METRIC.forwardBacklogAgeSeconds, MetricUnit.Seconds, Math.round(ageSeconds));
          }
        } else if (outcome.status === 'expired' || outcome.status === 'loop' || outcome.status === 'too-large') {
          metrics.addMetric(METRIC.recipientsFailed, MetricUnit.Count, outcome.failed.length);
        }
        // After every outcome but gone: a report that a crash or an error left unsent is owed on the job's next
        // delivery, which finds the relay done (duplicate); the once-gate sends each report once.
        if (deps.nonDelivery && outcome.status !== 'gone') {
          const { sender, counter, reportingMta } = deps.nonDelivery;
          const reports = await reportNonDeliveries(job.sesMessageId, {
            ...deps,
            workerId,
            sender,
            counter,
            config: { reportingMta, leaseMs: deps.config.leaseMs },
          });
          if (reports.length > 0) logger.info('non-delivery reports', { sesMessageId: job.sesMessageId, reports });
        }
      } catch (error) {
        logger.error('forward failed', { sesMessageId: job.sesMessageId, error });
        throw error;
      }
    },
    { workerId: deps.workerId, sequential: true },
  );
}

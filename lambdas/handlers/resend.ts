// The resend worker's handler: SQS batch of resend steps (enumerate a page, send one
// message) → processResendStep, per record, with partial batch failures. A record that
// can never become a step is logged and dropped rather than retried for ever. Wired in
// AWS by lambdas/entry/resend.ts.
import { z } from 'zod';
import { METRIC } from '../contract/metrics.ts';
import { describeConfigurationFault } from '../core/configuration-fault.ts';
import { processResendStep, type ResendWorkerDeps } from '../core/resend.ts';
import type { ResendStep } from '../ports/resend-jobs.ts';
import { parseJsonMessage } from './json-message.ts';
import { MetricUnit } from './observability.ts';
import { type SqsBatchDeps, type SqsHandler, sqsBatchHandler } from './sqs-batch.ts';

export type ResendHandlerDeps = Omit<ResendWorkerDeps, 'workerId'> & SqsBatchDeps & { workerId?: string };

const jobId = z.string().regex(/^[A-Za-z0-9._-]{1,100}$/);
const stepSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('enumerate'), jobId, seq: z.number().int().nonnegative() }),
  z.object({
    type: z.literal('message'),
    jobId,
    sesMessageId: z.string().min(1).max(256),
    recipients: z.array(z.string().min(1).max(512)).max(1000).nullable(),
    attempt: z.number().int().nonnegative().max(1000),
  }),
]);

export function parseResendStep(body: string): ResendStep {
  return parseJsonMessage(body, stepSchema, 'resend step');
}

export function createResendHandler(deps: ResendHandlerDeps): SqsHandler {
  const { logger, metrics } = deps;
  return sqsBatchHandler(
    deps,
    async (sqsRecord, workerId) => {
      let step: ResendStep;
      try {
        step = parseResendStep(sqsRecord.body);
      } catch (error) {
        logger.error('resend step dropped', { messageId: sqsRecord.messageId, error });
        return;
      }
      const receiveCount = Number(sqsRecord.attributes?.ApproximateReceiveCount ?? '1') || 1;
      try {
        const outcome = await processResendStep(step, { ...deps, workerId }, receiveCount);
        const { traceError, ...logged } = outcome as typeof outcome & { traceError?: unknown };
        logger.info('resend', { ...step, recipients: undefined, ...logged });
        if (traceError) logger.warn('resend attempt not written to the trace', { jobId: step.jobId, error: traceError });
        if (outcome.status === 'sent') {
          metrics.addMetric(METRIC.resendDelivered, MetricUnit.Count, outcome.delivered.length);
          metrics.addMetric(METRIC.resendDeferred, MetricUnit.Count, outcome.deferred.length);
          metrics.addMetric(METRIC.resendFailed, MetricUnit.Count, outcome.failed.length);
          if (outcome.inDoubt) metrics.addMetric(METRIC.resendInDoubt, MetricUnit.Count, 1);
          if (outcome.configurationFault) {
            metrics.addMetric(METRIC.smartHostConfigurationFaults, MetricUnit.Count, 1);
            logger.warn('smart host configuration fault', {
              jobId: step.jobId,
              configurationFault: outcome.configurationFault,
              detail: describeConfigurationFault(outcome.configurationFault),
            });
          }
        } else if (outcome.status === 'skipped') {
          metrics.addMetric(METRIC.resendSkipped, MetricUnit.Count, 1);
        }
      } catch (error) {
        logger.error('resend step failed', { jobId: step.jobId, type: step.type, error });
        throw error;
      }
    },
    { workerId: deps.workerId, sequential: true },
  );
}

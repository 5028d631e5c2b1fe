// What every SQS-fed handler shares: records processed with Powertools'
// BatchProcessor, failures reported per record (partial batch response), each failed
// record retried after a backoff instead of the queue's visibility timeout, metrics
// flushed once per batch.
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { failureBackoffSeconds } from '../core/failure-backoff.ts';
import type { MessageVisibility } from '../ports/message-visibility.ts';
import type { Observability } from './observability.ts';

export type SqsHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

export interface SqsBatchDeps extends Observability {
  /** The consumed queue: a record that threw becomes visible there again after failureBackoffSeconds. */
  retryVisibility: MessageVisibility;
}

export interface SqsBatchOptions {
  /**
   * Names who holds a lease while the record is processed: the Lambda request and
   * record by default; local mode passes a fixed one (see wiring/local.ts).
   */
  workerId?: string | undefined;
  /**
   * One record after the other instead of all at once (Powertools' processInParallel:
   * false): a relaying handler then holds one SMTP session at a time, which is what
   * bounds the sessions to the primary (lambdas/core/primary-sessions.ts).
   */
  sequential?: boolean;
}

export function sqsBatchHandler(
  deps: SqsBatchDeps,
  processRecord: (record: SQSRecord, workerId: string) => Promise<void>,
  options: SqsBatchOptions = {},
): SqsHandler {
  const { metrics } = deps;
  return async (event, context) => {
    const processor = new BatchProcessor(EventType.SQS);
    const record = async (sqsRecord: SQSRecord): Promise<void> => {
      try {
        await processRecord(sqsRecord, options.workerId ?? `${context.awsRequestId}:${sqsRecord.messageId}`);
      } catch (error) {
        await scheduleRetry(deps, sqsRecord);
        throw error;
      }
    };
    try {
      return await processPartialResponse(event, record, processor, {
        context,
        throwOnFullBatchFailure: false,
        processInParallel: !options.sequential,
      });
    } finally {
      if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
    }
  };
}

/** Best effort: if the visibility cannot be changed, the record comes back after the queue's visibility timeout. */
async function scheduleRetry({ retryVisibility, logger }: SqsBatchDeps, sqsRecord: SQSRecord): Promise<void> {
  const receiveCount = Number(sqsRecord.attributes?.ApproximateReceiveCount ?? '1');
  const seconds = failureBackoffSeconds(receiveCount);
  try {
    await retryVisibility.retryAfter(sqsRecord.receiptHandle, seconds);
  } catch (error) {
    logger.warn('failed record keeps the queue visibility timeout', { messageId: sqsRecord.messageId, backoffSeconds: seconds, error });
  }
}

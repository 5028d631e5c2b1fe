// What every SQS-fed handler shares: records processed one by one with Powertools'
// BatchProcessor, failures reported per record (partial batch response), metrics
// flushed once per batch.
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type { Observability } from './observability.ts';

export type SqsHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

/**
 * `workerId` names who holds a lease while the record is processed: the Lambda
 * request and record by default; local mode passes a fixed one (see wiring/local.ts).
 */
export function sqsBatchHandler(
  { metrics }: Observability,
  processRecord: (record: SQSRecord, workerId: string) => Promise<void>,
  fixedWorkerId?: string,
): SqsHandler {
  return async (event, context) => {
    const processor = new BatchProcessor(EventType.SQS);
    const record = (sqsRecord: SQSRecord) =>
      processRecord(sqsRecord, fixedWorkerId ?? `${context.awsRequestId}:${sqsRecord.messageId}`);
    try {
      return await processPartialResponse(event, record, processor, { context, throwOnFullBatchFailure: false });
    } finally {
      if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
    }
  };
}

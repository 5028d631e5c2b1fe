// The ingest handler: SQS batch of SNS-wrapped SES receipt notifications → ingest use case
// (wired in AWS by lambdas/entry/ingest.ts, locally by lambdas/wiring/local.ts).
// Partial batch responses: one bad record never fails its neighbours.
import { METRIC } from '../contract/metrics.ts';
import { type IngestDeps, ingestMessage } from '../core/ingest.ts';
import { MetricUnit } from './observability.ts';
import { parseIngestRecord } from './ses-receipt-event.ts';
import { type SqsBatchDeps, type SqsHandler, sqsBatchHandler } from './sqs-batch.ts';

export type IngestHandlerDeps = Omit<IngestDeps, 'workerId'> & SqsBatchDeps & { workerId?: string };

export function createIngestHandler(deps: IngestHandlerDeps): SqsHandler {
  const { logger, metrics } = deps;
  return sqsBatchHandler(
    deps,
    async (sqsRecord, workerId) => {
      const record = parseIngestRecord(sqsRecord.body);
      if (record.kind === 'setup') {
        // SES's proof that rule, bucket and topic work: acknowledged (the record succeeds), never indexed or relayed.
        logger.info('SES setup notification acknowledged and dropped', { detail: record.detail, sqsMessageId: sqsRecord.messageId });
        return;
      }
      const { mail } = record;
      try {
        const outcome = await ingestMessage(mail, { ...deps, workerId });
        logger.info('ingested', { ...outcome, recipients: mail.envelopeRecipients.length });
        metrics.addMetric(METRIC.messagesIngested, MetricUnit.Count, 1);
        if (!outcome.parsed) metrics.addMetric(METRIC.messagesUnparsed, MetricUnit.Count, 1);
      } catch (error) {
        logger.error('ingest failed', { sesMessageId: mail.sesMessageId, error });
        metrics.addMetric(METRIC.ingestErrors, MetricUnit.Count, 1);
        throw error;
      }
    },
    { workerId: deps.workerId },
  );
}

// Stack output names that code outside the CDK app reads (the CLI's --stack target,
// `shadowmail redrive`, `shadowmail doctor`), defined once for both sides. No CDK import
// here: the CLI loads this file without the construct library.

/** Every dead-letter queue of a deployment, by the label its alarm and the CLI use. */
export const DEAD_LETTER_QUEUE_LABELS = ['ingest', 'forward', 'resend', 'notifications'] as const;
export type DeadLetterQueueLabel = (typeof DEAD_LETTER_QUEUE_LABELS)[number];

/** `DeadLetterQueue<Label>Url` of the stateful stack: the doctor finds every DLQ by this prefix. */
export const DEAD_LETTER_QUEUE_OUTPUT_PREFIX = 'DeadLetterQueue';
export const deadLetterQueueOutputKey = (label: DeadLetterQueueLabel): string =>
  `${DEAD_LETTER_QUEUE_OUTPUT_PREFIX}${label[0]!.toUpperCase()}${label.slice(1)}Url`;

/** The ingest queue (stateful stack): where the notifications DLQ is redriven to. */
export const INGEST_QUEUE_OUTPUT_KEY = 'IngestQueueUrl';

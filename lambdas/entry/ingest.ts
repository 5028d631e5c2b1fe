// Lambda entry point of the ingest function (the stack bundles this file): the handler
// of lambdas/handlers/ingest.ts with the AWS wiring, built once per execution environment.
import { createIngestHandler } from '../handlers/ingest.ts';
import type { SqsHandler } from '../handlers/sqs-batch.ts';
import { awsIngestDeps } from '../wiring/aws-ingest.ts';
import { lazyHandler } from './lazy.ts';

export const handler: SqsHandler = lazyHandler(async () => createIngestHandler(awsIngestDeps()));

// Composition root of the ingest function in AWS: the mail path's parts (aws-pipeline.ts)
// and the MIME parser, which only the ingest needs — in a file of its own so that the
// forward's bundle leaves mailparser and its charset tables out.
import { MailparserMimeParser } from '../adapters/mime/mailparser-mime-parser.ts';
import { ENV } from '../contract/environment.ts';
import { SERVICE } from '../contract/metrics.ts';
import type { IngestHandlerDeps } from '../handlers/ingest.ts';
import { createObservability } from '../handlers/observability.ts';
import { pipelineParts } from './aws-pipeline.ts';
import { readAwsIngestEnv } from './env.ts';

export function awsIngestDeps(): IngestHandlerDeps {
  const env = readAwsIngestEnv();
  return {
    ...pipelineParts(env),
    parser: new MailparserMimeParser(),
    config: {
      retentionDays: env[ENV.retentionDays],
      stackId: env[ENV.stackId],
      leaseMs: env[ENV.leaseSeconds] * 1000,
      subaddressSeparator: env[ENV.subaddressSeparator],
      ownDomains: env[ENV.mailDomains],
    },
    ...createObservability(SERVICE.ingest),
  };
}

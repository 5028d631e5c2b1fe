// Composition root of local mode: the same Lambda handlers as in AWS, fed by an SMTP
// listener instead of SES, with dynalite behind the real DynamoDB adapter, raw mail
// and durable queues under the data directory, and a built-in primary sink.
import { randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { serve, type ServerType } from '@hono/node-server';
import type { Context, SQSEvent } from 'aws-lambda';
import { createWebApp } from '../../web/app.ts';
import { DynamoDbMessageIndex } from '../adapters/aws/dynamodb-message-index.ts';
import { makeDynamoDbClient } from '../adapters/aws/dynamodb-client.ts';
import { createMessageTable } from '../adapters/aws/message-table.ts';
import { buildReceiptNotification, wrapInSnsEnvelope } from '../handlers/ses-receipt-event.ts';
import { startEmbeddedDynalite } from '../adapters/local/embedded-dynalite.ts';
import { FileForwardQueue } from '../adapters/local/file-forward-queue.ts';
import { FileQueue } from '../adapters/local/file-queue.ts';
import { FsRawMailStore } from '../adapters/local/fs-raw-mail-store.ts';
import { startInboundSmtp } from '../adapters/local/inbound-smtp.ts';
import { commonHeadersOf, readHeaderBlock } from '../adapters/local/rfc5322-header-block.ts';
import { startSmtpSink } from '../adapters/local/smtp-sink.ts';
import { MailparserMimeParser } from '../adapters/mime/mailparser-mime-parser.ts';
import { SmtpRelayAdapter } from '../adapters/smtp/smtp-relay.ts';
import { systemClock } from '../ports/clock.ts';
import { createForwardHandler } from '../handlers/forward.ts';
import { createIngestHandler, type SqsHandler } from '../handlers/ingest.ts';
import { createObservability } from '../handlers/observability.ts';
import type { LocalConfig } from './local-config.ts';
import { acquireDataDirLock, localPaths, writeRuntimeInfo, type LocalPaths } from './local-data-dir.ts';

import { LOCAL_TABLE_NAME } from './local-index.ts';
export { LOCAL_TABLE_NAME };
export const LOCAL_BUCKET = 'inbound';

export interface LocalStack {
  config: LocalConfig;
  paths: LocalPaths;
  smtpPort: number;
  httpPort: number;
  sinkPort: number | null;
  dynamoEndpoint: string;
  queues: { ingest: FileQueue; forward: FileQueue };
  stop(): Promise<void>;
}

/** Starts every component; resolves once the stack accepts mail and /healthz answers 200. */
export async function startLocalStack(config: LocalConfig): Promise<LocalStack> {
  const paths = localPaths(config.dataDir);
  await mkdir(paths.root, { recursive: true });
  const releaseLock = await acquireDataDirLock(paths);
  const stoppers: (() => Promise<void>)[] = [releaseLock];
  const stop = async (): Promise<void> => {
    for (const stopper of stoppers.reverse()) await stopper().catch(() => undefined);
  };

  try {
    let ready = false;
    const app = createWebApp({ health: async () => ({ ready, details: await queueDetails() }) });
    const http = await listen(app.fetch, config.listenHost, config.httpPort);
    stoppers.push(() => closeServer(http.server));

    const dynalite = await startEmbeddedDynalite({ path: paths.dynamodb, host: '127.0.0.1', port: 0 });
    stoppers.push(() => dynalite.close());
    const dynamoClient = makeDynamoDbClient(dynalite.endpoint);
    await createMessageTable(dynamoClient, LOCAL_TABLE_NAME);
    const index = new DynamoDbMessageIndex({ client: dynamoClient, tableName: LOCAL_TABLE_NAME });

    const rawStore = new FsRawMailStore(paths.raw);
    const ingestQueue = new FileQueue(paths.ingestQueue, { visibilityTimeoutSeconds: 60 });
    const forwardQueueFiles = new FileQueue(paths.forwardQueue, { visibilityTimeoutSeconds: Math.ceil(config.leaseMs / 1000) });
    const forwardQueue = new FileForwardQueue(forwardQueueFiles);
    async function queueDetails(): Promise<Record<string, unknown>> {
      return { queues: { ingest: await ingestQueue.stats(), forward: await forwardQueueFiles.stats() } };
    }

    let sinkPort: number | null = null;
    if (!config.primary) {
      const sink = await startSmtpSink({ host: '127.0.0.1', port: config.sinkPort, dir: paths.primarySink });
      sinkPort = sink.port;
      stoppers.push(() => sink.close());
    }
    const relay = new SmtpRelayAdapter(
      config.primary
        ? { host: config.primary.host, port: config.primary.port, tls: config.primary.implicitTls ? 'implicit' : 'starttls-opportunistic' }
        : { host: '127.0.0.1', port: sinkPort!, tls: 'none' },
    );

    // One process owns the data directory, so its workers share one lease owner:
    // after a crash the restarted process takes over its own leases at once.
    const workerId = 'local';
    const parser = new MailparserMimeParser();
    const ingest = createIngestHandler({
      index, rawStore, parser, forwardQueue, clock: systemClock, workerId,
      config: { retentionDays: config.retentionDays, stackId: config.stackId, leaseMs: config.leaseMs },
      ...createObservability('shadowmail-ingest'),
    });
    const forward = createForwardHandler({
      index, rawStore, relay, forwardQueue, clock: systemClock, workerId,
      config: {
        stackId: config.stackId, maxAgeMs: config.forwardMaxAgeMs, retryBaseSeconds: config.retryBaseSeconds,
        retryMaxDelaySeconds: config.retryMaxDelaySeconds, leaseMs: config.leaseMs,
      },
      ...createObservability('shadowmail-forward'),
    });
    const ingestConsumer = ingestQueue.startConsumer(asLocalLambda(ingest, 'ingest'), { batchSize: 10, concurrency: 1 });
    stoppers.push(() => ingestConsumer.stop());
    const forwardConsumer = forwardQueueFiles.startConsumer(asLocalLambda(forward, 'forward'), { batchSize: 10, concurrency: 2 });
    stoppers.push(() => forwardConsumer.stop());

    const inbound = await startInboundSmtp({
      host: config.listenHost,
      port: config.smtpPort,
      domains: config.domains,
      spoolDir: paths.spool,
      accept: async (message) => {
        // The id the sender saw in "250 queued as <id>" is the one trace shows.
        const sesMessageId = message.id;
        const headers = await readHeaderBlock(message.spoolFile);
        const key = sesMessageId;
        await rawStore.adopt({ bucket: LOCAL_BUCKET, key }, message.spoolFile);
        const notification = buildReceiptNotification({
          sesMessageId, receivedAt: message.receivedAt, envelopeFrom: message.envelopeFrom,
          envelopeRecipients: message.envelopeRecipients, bucket: LOCAL_BUCKET, key,
          headers, commonHeaders: commonHeadersOf(headers),
        });
        await ingestQueue.send(wrapInSnsEnvelope(notification, sesMessageId));
      },
    });
    stoppers.push(() => inbound.close());

    await writeRuntimeInfo(paths, { pid: process.pid, dynamoEndpoint: dynalite.endpoint, smtpPort: inbound.port, httpPort: http.port, sinkPort });
    stoppers.push(() => rm(paths.runtimeInfo, { force: true }));
    ready = true;
    return {
      config, paths, smtpPort: inbound.port, httpPort: http.port, sinkPort, dynamoEndpoint: dynalite.endpoint,
      queues: { ingest: ingestQueue, forward: forwardQueueFiles }, stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

function asLocalLambda(handler: SqsHandler, functionName: string) {
  return (event: SQSEvent) => handler(event, localContext(functionName));
}

function localContext(functionName: string): Context {
  const started = Date.now();
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${functionName}`,
    memoryLimitInMB: '1024',
    awsRequestId: randomBytes(8).toString('hex'),
    logGroupName: `/local/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, 900_000 - (Date.now() - started)),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

async function listen(fetch: (request: Request) => Response | Promise<Response>, host: string, port: number) {
  return new Promise<{ server: ServerType; port: number }>((resolve, reject) => {
    const server = serve({ fetch, hostname: host, port }, (info) => resolve({ server, port: info.port }));
    server.once('error', reject);
  });
}

function closeServer(server: ServerType): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}


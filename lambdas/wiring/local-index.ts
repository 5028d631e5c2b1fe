// Opens local mode's message index for the CLI: through the running stack's dynalite
// when one is up (it holds the database lock), or by starting dynalite on the data
// directory for the duration of the command.
import { access } from 'node:fs/promises';
import { makeDynamoDbClient } from '../adapters/aws/dynamodb-client.ts';
import { DynamoDbMessageIndex } from '../adapters/aws/dynamodb-message-index.ts';
import { startEmbeddedDynalite } from '../adapters/local/embedded-dynalite.ts';
import { ShadowmailError } from '../core/errors.ts';
import type { MessageIndex } from '../ports/message-index.ts';
import { localPaths, readRuntimeInfo } from './local-data-dir.ts';

export const LOCAL_TABLE_NAME = 'shadowmail';

export async function openLocalIndex(dataDir: string): Promise<{ index: MessageIndex; close(): Promise<void> }> {
  const paths = localPaths(dataDir);
  const running = await readRuntimeInfo(paths);
  if (running) {
    const client = makeDynamoDbClient(running.dynamoEndpoint);
    return { index: new DynamoDbMessageIndex({ client, tableName: LOCAL_TABLE_NAME }), close: async () => client.destroy() };
  }
  try {
    await access(paths.dynamodb);
  } catch {
    throw new ShadowmailError('NO_DATA', `no shadowmail data in ${dataDir} (start local mode with npm start, or pass --data-dir)`);
  }
  const dynalite = await startEmbeddedDynalite({ path: paths.dynamodb, host: '127.0.0.1', port: 0 });
  const client = makeDynamoDbClient(dynalite.endpoint);
  return {
    index: new DynamoDbMessageIndex({ client, tableName: LOCAL_TABLE_NAME }),
    close: async () => {
      client.destroy();
      await dynalite.close();
    },
  };
}

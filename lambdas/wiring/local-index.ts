// Opens local mode's message index for the CLI: the store file itself, beside the running
// stack or not (WAL lets a reader and the stack's writer work at once).
import { access } from 'node:fs/promises';
import { ShadowmailError } from '../core/errors.ts';
import type { MessageIndex } from '../ports/message-index.ts';
import { localPaths, ownerOnlyFiles } from './local-data-dir.ts';
import { closeDurably, openLocalStore, refuseLegacyStore } from './local-store.ts';

export async function openLocalIndex(dataDir: string): Promise<{ index: MessageIndex; close(): Promise<void> }> {
  const paths = localPaths(dataDir);
  await refuseLegacyStore(paths);
  try {
    await access(paths.database);
  } catch {
    throw new ShadowmailError('NO_DATA', `no shadowmail data in ${dataDir} (start local mode with npm start, or pass --data-dir)`);
  }
  ownerOnlyFiles();
  const store = openLocalStore(paths.database);
  return { index: store.index, close: () => closeDurably(store) };
}

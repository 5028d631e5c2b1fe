// Local mode's stored mail as a CLI command that reads mailboxes reaches it (reconcile):
// the index, directory and audit log in the local store (local-resend.ts openLocalTable)
// and the raw messages (rows of the store and files under <dataDir>/raw).
import { localRawMailStore } from '../adapters/local/local-raw-mail-store.ts';
import type { AuditLog } from '../ports/audit-log.ts';
import type { DirectoryStore } from '../ports/directory.ts';
import type { MessageIndex } from '../ports/message-index.ts';
import type { RawMailStore } from '../ports/raw-mail-store.ts';
import type { LocalConfig } from './local-config.ts';
import { localPaths } from './local-data-dir.ts';
import { openLocalTable } from './local-resend.ts';

/** The mail of a deployment or of local mode, as the CLI reads it (bin/commands/deployed-target.ts has the deployed one). */
export interface MailData {
  index: MessageIndex;
  rawStore: RawMailStore;
  directory: DirectoryStore;
  audit: AuditLog;
  /** For messages: the running stack (pid …), the data directory, or the stack. */
  where: string;
  close(): Promise<void>;
}

export async function openLocalMailData(config: LocalConfig): Promise<MailData> {
  const closers: Array<() => Promise<void>> = [];
  const close = async (): Promise<void> => {
    for (const closer of closers.splice(0).reverse()) await closer().catch(() => undefined);
  };
  try {
    const { store, where } = await openLocalTable(config, closers);
    return {
      index: store.index,
      rawStore: localRawMailStore(localPaths(config.dataDir).raw, store.rawRows),
      directory: store.directory,
      audit: store.audit,
      where,
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

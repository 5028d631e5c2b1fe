// Local mode's store as a test looks into it: the data directory's SQLite file opened in
// the test process, beside a running stack or not (WAL lets both work on it).
import { localPaths } from '../../lambdas/wiring/local-data-dir.ts';
import { type LocalStore, openLocalStore } from '../../lambdas/wiring/local-store.ts';

/** Opens the store of `dataDir` (creating it when missing); the caller closes it. */
export function openDataDirStore(dataDir: string): LocalStore {
  return openLocalStore(localPaths(dataDir).database);
}

/** Runs `use` on the store of `dataDir` and closes it afterwards. */
export async function withDataDirStore<T>(dataDir: string, use: (store: LocalStore) => T | Promise<T>): Promise<T> {
  const store = openDataDirStore(dataDir);
  try {
    return await use(store);
  } finally {
    store.close();
  }
}

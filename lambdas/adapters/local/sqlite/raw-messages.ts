// Received messages small enough to arrive in memory (spool-writer.ts, up to 256 KiB), as
// rows of the store file instead of one file each: a row is put on disk by the log's
// fsync that the ingest queue's row waits for anyway, where a file cost a new inode, its
// own fsync, a rename and its directory's fsync (issue 18; docs/design.md 12.26).
// Like the raw files, rows are kept: local mode deletes no received message.
import type { RawLocation } from '../../../core/model.ts';
import { ensureSchema, type LocalDatabase } from './database.ts';

export const RAW_MESSAGE_SCHEMA = [
  'CREATE TABLE IF NOT EXISTS raw_message (bucket TEXT NOT NULL, key TEXT NOT NULL, bytes BLOB NOT NULL, PRIMARY KEY (bucket, key))',
] as const;

export class SqliteRawMessages {
  private readonly insert;
  private readonly select;
  private readonly length;

  constructor(db: LocalDatabase) {
    ensureSchema(db, RAW_MESSAGE_SCHEMA);
    this.insert = db.prepare<[string, string, Buffer]>('INSERT OR REPLACE INTO raw_message (bucket, key, bytes) VALUES (?, ?, ?)');
    this.select = db.prepare<[string, string], { bytes: Buffer }>('SELECT bytes FROM raw_message WHERE bucket = ? AND key = ?');
    this.length = db.prepare<[string, string], { size: number }>(
      'SELECT length(bytes) AS size FROM raw_message WHERE bucket = ? AND key = ?',
    );
  }

  /** Committed when it returns (a SIGKILL keeps it); on disk with the store's next makeDurable. */
  write(location: RawLocation, bytes: Buffer): void {
    this.insert.run(location.bucket, location.key, bytes);
  }

  read(location: RawLocation): Buffer | undefined {
    return this.select.get(location.bucket, location.key)?.bytes;
  }

  size(location: RawLocation): number | undefined {
    return this.length.get(location.bucket, location.key)?.size;
  }
}

// Local mode's raw store (the S3 bucket's stand-in): received messages that arrived in
// memory are rows of the store file (sqlite/raw-messages.ts), everything else is a file
// under <dataDir>/raw (fs-raw-mail-store.ts: larger received messages, Sent copies,
// uploads, and every message an older version stored). A read looks at the messages this
// process put last (still in memory), then the rows, then the files.
import { Readable } from 'node:stream';
import type { RawLocation } from '../../core/model.ts';
import type { RawMailStore, RawMailWriter } from '../../ports/raw-mail-store.ts';
import { FsRawMailStore } from './fs-raw-mail-store.ts';
import { RecentMessages } from './recent-messages.ts';
import type { SqliteRawMessages } from './sqlite/raw-messages.ts';

export class LocalRawMailStore implements RawMailStore, RawMailWriter {
  constructor(
    /** The files; also what drafts and uploads use directly. */
    readonly files: FsRawMailStore,
    private readonly rows: SqliteRawMessages,
    private readonly recent = new RecentMessages(),
  ) {}

  async open(location: RawLocation): Promise<Readable> {
    const bytes = this.recent.get(recentKey(location)) ?? this.rows.read(location);
    if (bytes === undefined) return this.files.open(location);
    return Readable.from([bytes], { objectMode: false });
  }

  async size(location: RawLocation): Promise<number> {
    return this.recent.get(recentKey(location))?.length ?? this.rows.size(location) ?? this.files.size(location);
  }

  /** A file, fsynced: what the webmail's Sent copies and the uploads write. */
  put(location: RawLocation, body: Readable | Buffer): Promise<void> {
    this.recent.forget(recentKey(location));
    return this.files.put(location, body);
  }

  /**
   * A received message held in memory, as a row. Not fsynced here: the caller acknowledges
   * the message only after the store's makeDurable (the ingest queue's send does it), which
   * puts this commit on disk with its own.
   */
  putBeforeDurable(location: RawLocation, bytes: Buffer): void {
    this.rows.write(location, bytes);
    this.recent.remember(recentKey(location), bytes);
  }

  /** A received message that spilled to its spool file: the file moves into the store. */
  adopt(location: RawLocation, file: string): Promise<void> {
    this.recent.forget(recentKey(location));
    return this.files.adopt(location, file);
  }
}

const recentKey = (location: RawLocation): string => `${location.bucket}/${location.key}`;

/** The raw store of a data directory: its files under `rawDir` and its rows in the open store. */
export function localRawMailStore(rawDir: string, rows: SqliteRawMessages): LocalRawMailStore {
  return new LocalRawMailStore(new FsRawMailStore(rawDir), rows);
}

// Local mode's raw store: received messages held in memory are rows of the store file,
// everything else files; a read finds either, byte for byte, and a row is there for a
// second connection (a CLI command) as soon as it is committed and after the file is
// opened again.
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FsRawMailStore } from '../../../../../lambdas/adapters/local/fs-raw-mail-store.ts';
import { LocalRawMailStore, localRawMailStore } from '../../../../../lambdas/adapters/local/local-raw-mail-store.ts';
import { RecentMessages } from '../../../../../lambdas/adapters/local/recent-messages.ts';
import { type LocalDatabase, makeDurable, openLocalDatabase } from '../../../../../lambdas/adapters/local/sqlite/database.ts';
import { SqliteRawMessages } from '../../../../../lambdas/adapters/local/sqlite/raw-messages.ts';
import { RawMessageMissingError } from '../../../../../lambdas/core/errors.ts';

describe('LocalRawMailStore', () => {
  let root: string;
  let db: LocalDatabase;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'local-raw-'));
    db = openLocalDatabase(join(root, 'shadowmail.db'));
  });
  afterEach(async () => {
    if (db.open) db.close();
    await rm(root, { recursive: true, force: true });
  });

  it('keeps a received message as a row, not a file, and gives it back byte for byte', async () => {
    // Prepare: every byte value, CR and LF alone, the size of a message held in memory
    const store = localRawMailStore(join(root, 'raw'), new SqliteRawMessages(db));
    const bytes = Buffer.concat([Buffer.from(Array.from({ length: 256 }, (_, n) => n)), Buffer.from('\r.\n\r\n'), randomBytes(250 * 1024)]);
    const location = { bucket: 'inbound', key: 'a'.repeat(40) };

    // Act
    store.putBeforeDurable(location, bytes);
    await makeDurable(db);

    // Assess: from this store (its memory of the last messages) and from the row itself
    const fromRow = localRawMailStore(join(root, 'raw'), new SqliteRawMessages(db));
    for (const reader of [store, fromRow]) {
      expect((await buffer(await reader.open(location))).equals(bytes)).toBe(true);
      expect(await reader.size(location)).toBe(bytes.length);
    }
    expect(await readdir(root)).not.toContain('raw'); // no file, not even its directory
  });

  it('reads the last messages it put from memory, older ones from their rows', async () => {
    // Prepare: a memory of two messages' size; three messages, then every row gone
    const store = new LocalRawMailStore(new FsRawMailStore(join(root, 'raw')), new SqliteRawMessages(db), new RecentMessages(2 * 1000));
    const messages = [1, 2, 3].map((n) => ({ location: { bucket: 'inbound', key: `m${n}` }, bytes: randomBytes(1000) }));
    for (const { location, bytes } of messages) store.putBeforeDurable(location, bytes);
    db.prepare('DELETE FROM raw_message').run();

    // Act + Assess: the two last are still read, the first one is gone with its row
    for (const { location, bytes } of messages.slice(1)) {
      expect((await buffer(await store.open(location))).equals(bytes)).toBe(true);
      expect(await store.size(location)).toBe(1000);
    }
    await expect(store.open(messages[0]!.location)).rejects.toBeInstanceOf(RawMessageMissingError);
  });

  it('reads files too: a message that spilled, a Sent copy, what an older version stored', async () => {
    // Prepare
    const store = localRawMailStore(join(root, 'raw'), new SqliteRawMessages(db));
    const large = randomBytes(3 * 1024 * 1024 + 5);
    await store.put({ bucket: 'inbound', key: 'sent/copy' }, Readable.from([large]));

    // Act
    const read = await buffer(await store.open({ bucket: 'inbound', key: 'sent/copy' }));

    // Assess
    expect(read.equals(large)).toBe(true);
    expect(await store.size({ bucket: 'inbound', key: 'sent/copy' })).toBe(large.length);
    expect(await readdir(join(root, 'raw', 'inbound', 'sent'))).toEqual(['copy']);
  });

  it('is the port’s RawMessageMissingError when neither a row nor a file has it', async () => {
    const store = localRawMailStore(join(root, 'raw'), new SqliteRawMessages(db));
    await expect(store.open({ bucket: 'inbound', key: 'nothing' })).rejects.toBeInstanceOf(RawMessageMissingError);
    await expect(store.size({ bucket: 'inbound', key: 'nothing' })).rejects.toBeInstanceOf(RawMessageMissingError);
  });

  it('a row is there for another connection once committed, and after the file is opened again', async () => {
    // Prepare
    const bytes = randomBytes(4096);
    const location = { bucket: 'inbound', key: 'b'.repeat(40) };
    localRawMailStore(join(root, 'raw'), new SqliteRawMessages(db)).putBeforeDurable(location, bytes);

    // Act: a second connection (a CLI command beside the running stack), then a reopen
    const other = openLocalDatabase(join(root, 'shadowmail.db'));
    const seenByOther = await buffer(await localRawMailStore(join(root, 'raw'), new SqliteRawMessages(other)).open(location));
    other.close();
    await makeDurable(db);
    db.close();
    db = openLocalDatabase(join(root, 'shadowmail.db'));
    const afterReopen = await buffer(await localRawMailStore(join(root, 'raw'), new SqliteRawMessages(db)).open(location));

    // Assess
    expect(seenByOther.equals(bytes)).toBe(true);
    expect(afterReopen.equals(bytes)).toBe(true);
  });
});

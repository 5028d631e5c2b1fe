// Local mode's raw store on a real directory: what goes in comes out byte for byte,
// whether it is handed out from memory (small) or streamed from the file (large), and a
// missing message is the port's RawMessageMissingError either way.
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FsRawMailStore } from '../../../../../lambdas/adapters/local/fs-raw-mail-store.ts';
import { InvalidInputError, RawMessageMissingError } from '../../../../../lambdas/core/errors.ts';

describe('FsRawMailStore', () => {
  let root: string;
  let store: FsRawMailStore;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'raw-store-'));
    store = new FsRawMailStore(join(root, 'raw'));
  });
  afterEach(async () => rm(root, { recursive: true, force: true }));

  it('gives back exactly what was put, for a small message and one past the read-at-once size', async () => {
    // Prepare
    const small = randomBytes(70 * 1024);
    const large = randomBytes(3 * 1024 * 1024 + 7);

    // Act
    await store.put({ bucket: 'b', key: 'small' }, small);
    await store.put({ bucket: 'b', key: 'large' }, Readable.from([large.subarray(0, 1000), large.subarray(1000)]));
    const read = {
      small: await buffer(await store.open({ bucket: 'b', key: 'small' })),
      large: await buffer(await store.open({ bucket: 'b', key: 'large' })),
    };

    // Assess
    expect(read.small.equals(small)).toBe(true);
    expect(read.large.equals(large)).toBe(true);
    expect(await store.size({ bucket: 'b', key: 'large' })).toBe(large.length);
    expect((await readdir(join(root, 'raw', 'b'))).sort()).toEqual(['large', 'small']); // no temporary file left
  });

  it('answers RawMessageMissingError for a message that is not there', async () => {
    await expect(store.open({ bucket: 'b', key: 'gone' })).rejects.toBeInstanceOf(RawMessageMissingError);
    await expect(store.size({ bucket: 'b', key: 'gone' })).rejects.toBeInstanceOf(RawMessageMissingError);
  });

  it('adopts a spooled file, and again after its directory was removed', async () => {
    // Prepare
    const spool = join(root, 'spool.eml');
    await writeFile(spool, 'first');
    await store.adopt({ bucket: 'b', key: 'one' }, spool);
    await rm(join(root, 'raw', 'b'), { recursive: true });
    await writeFile(spool, 'second');

    // Act
    await store.adopt({ bucket: 'b', key: 'two' }, spool);

    // Assess
    expect((await buffer(await store.open({ bucket: 'b', key: 'two' }))).toString()).toBe('second');
    await expect(store.open({ bucket: 'b', key: 'one' })).rejects.toBeInstanceOf(RawMessageMissingError);
  });

  it('refuses a key that would leave the store', async () => {
    await expect(store.put({ bucket: 'b', key: '../../escape' }, Buffer.from('x'))).rejects.toBeInstanceOf(InvalidInputError);
  });
});

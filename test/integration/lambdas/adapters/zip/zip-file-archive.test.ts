// The .zip MessageArchive read back by a real reader (Info-ZIP's unzip): bytes equal,
// UTF-8 names, times; a 40 MB body streamed, not held; nothing under the name before
// commit, no temporary file left after a failure or abort, no file replaced unless asked.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openZipFileArchive } from '../../../../../lambdas/adapters/zip/zip-file-archive.ts';
import { unzip, zipNames } from '../../../../support/unzip.ts';

const MIB = 1024 * 1024;

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

describe('openZipFileArchive', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'shadowmail-zip-'));
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes a zip that unzip tests, lists with its UTF-8 names and extracts byte for byte; owner-only; nothing under the name before commit', async () => {
    // Prepare
    const out = join(dir, 'alice.zip');
    const crlf = Buffer.from(
      'Subject: =?UTF-8?B?w5xiZXJ3ZWlzdW5n?=\r\nFrom: a@b.example\r\n\r\nbody \u0000 with NUL and CRLF\r\n.\r\n',
      'latin1',
    );
    const binary = randomBytes(300_000);
    const archive = await openZipFileArchive(out, { overwrite: false });

    // Act
    await archive.add('inbox/2030-03-01 0805 Überweisung bestätigt abc12345.eml', Readable.from([crlf]), new Date('2030-03-01T08:05:00Z'));
    await archive.add(
      'sent/2030-03-01 0930 binary def67890.eml',
      Readable.from([binary.subarray(0, 1000), binary.subarray(1000)]),
      new Date('2030-03-01T09:30:00Z'),
    );
    const beforeCommit = await readdir(dir);
    const { bytes } = await archive.commit();

    // Assess
    expect(beforeCommit).not.toContain('alice.zip');
    expect(await readdir(dir)).toEqual(['alice.zip']);
    expect(bytes).toBe((await stat(out)).size);
    expect((await stat(out)).mode & 0o777).toBe(0o600);
    expect((await unzip('-tq', out)).toString()).toMatch(/No errors detected/);
    expect(await zipNames(out)).toEqual([
      'inbox/2030-03-01 0805 Überweisung bestätigt abc12345.eml',
      'sent/2030-03-01 0930 binary def67890.eml',
    ]);
    expect(await unzip('-p', out, 'inbox/2030-03-01 0805 Überweisung bestätigt abc12345.eml')).toEqual(crlf);
    expect(sha256(await unzip('-p', out, 'sent/2030-03-01 0930 binary def67890.eml'))).toBe(sha256(binary));
    // The first local file header: signature, then the general purpose flags with bit 11 (names in UTF-8, APPNOTE 4.4.4).
    const header = await readFile(out);
    expect(header.readUInt32LE(0)).toBe(0x04034b50);
    expect(header.readUInt16LE(6) & 0x0800).toBe(0x0800);
    expect((await unzip('-Zl', out)).toString()).toMatch(/-rw------- .* 30-Mar-01 0[89]:\d\d inbox\//);
  });

  it('streams a 40 MB message through without holding it in memory', async () => {
    // Prepare
    const source = join(dir, 'big.eml');
    const big = Buffer.concat([Buffer.from('Subject: big\r\n\r\n'), randomBytes(40 * MIB)]);
    await writeFile(source, big);
    const expected = sha256(big);
    big.fill(0);
    const out = join(dir, 'big.zip');
    const archive = await openZipFileArchive(out, { overwrite: false });
    globalThis.gc?.();
    const baseline = process.memoryUsage();
    let peak = { rss: baseline.rss, external: baseline.arrayBuffers };
    const sampler = setInterval(() => {
      const now = process.memoryUsage();
      peak = { rss: Math.max(peak.rss, now.rss), external: Math.max(peak.external, now.arrayBuffers) };
    }, 5);

    // Act
    try {
      await archive.add('inbox/big.eml', createReadStream(source), new Date('2030-03-01T00:00:00Z'));
      await archive.commit();
    } finally {
      clearInterval(sampler);
    }

    // Assess
    expect(sha256(await unzip('-p', out, 'inbox/big.eml'))).toBe(expected);
    // Buffers (file reads, deflate) are external memory: well below one copy of the message.
    expect(peak.external - baseline.arrayBuffers).toBeLessThan(20 * MIB);
  });

  it('never replaces a file that appeared while it was written, and leaves no temporary file', async () => {
    // Prepare
    const out = join(dir, 'taken.zip');
    const archive = await openZipFileArchive(out, { overwrite: false });
    await archive.add('inbox/a.eml', Readable.from([Buffer.from('a')]), new Date());
    await writeFile(out, 'someone else');

    // Act
    const error = await archive.commit().catch((caught: unknown) => caught);
    await archive.abort();

    // Assess
    expect((error as Error).message).toBe(`${out} appeared while the export ran: it was not replaced`);
    expect(await readFile(out, 'utf8')).toBe('someone else');
    expect(await readdir(dir)).toEqual(['taken.zip']);
  });

  it('replaces an existing file when asked to', async () => {
    // Prepare
    const out = join(dir, 'again.zip');
    await writeFile(out, 'old export');
    const archive = await openZipFileArchive(out, { overwrite: true });
    await archive.add('inbox/a.eml', Readable.from([Buffer.from('new')]), new Date());

    // Act
    await archive.commit();

    // Assess
    expect((await unzip('-p', out, 'inbox/a.eml')).toString()).toBe('new');
    expect(await readdir(dir)).toEqual(['again.zip']);
  });

  it('fails the add when a body fails half-way, and abort leaves nothing behind', async () => {
    // Prepare
    const out = join(dir, 'broken.zip');
    const archive = await openZipFileArchive(out, { overwrite: false });
    await archive.add('inbox/first.eml', Readable.from([Buffer.from('first')]), new Date());
    const failing = Readable.from(
      (async function* () {
        yield Buffer.from('half a message');
        throw new Error('connection reset');
      })(),
    );

    // Act
    const error = await archive.add('inbox/second.eml', failing, new Date()).catch((caught: unknown) => caught);
    const commit = await archive.commit().catch((caught: unknown) => caught);
    await archive.abort();

    // Assess
    expect((error as Error).message).toBe('connection reset');
    expect((commit as Error).message).toBe('connection reset');
    expect(await readdir(dir)).toEqual([]);
  });
});

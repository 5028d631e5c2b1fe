// An in-memory MessageArchive: what was added (path, bytes, time), and whether it was
// committed or aborted — with the port's rules kept (nothing after commit or abort, a
// body read to its end before add resolves), so a use case that breaks them fails.
import type { Readable } from 'node:stream';
import type { MessageArchive } from '../../lambdas/ports/message-archive.ts';

export interface ArchivedFile {
  path: string;
  bytes: Buffer;
  modifiedAt: Date;
}

export class MemoryMessageArchive implements MessageArchive {
  readonly files: ArchivedFile[] = [];
  state: 'open' | 'committed' | 'aborted' = 'open';
  /** How often the use case opened an archive (through open()). */
  opened = 0;

  /** For deps.openArchive. */
  readonly open = async (): Promise<MessageArchive> => {
    this.opened += 1;
    return this;
  };

  async add(path: string, body: Readable, modifiedAt: Date): Promise<void> {
    if (this.state !== 'open') throw new Error(`add after ${this.state}`);
    const chunks: Buffer[] = [];
    for await (const chunk of body) chunks.push(Buffer.from(chunk as Buffer));
    this.files.push({ path, bytes: Buffer.concat(chunks), modifiedAt });
  }

  async commit(): Promise<{ bytes: number }> {
    if (this.state !== 'open') throw new Error(`commit after ${this.state}`);
    this.state = 'committed';
    return { bytes: this.files.reduce((sum, file) => sum + file.bytes.length, 0) };
  }

  async abort(): Promise<void> {
    if (this.state === 'committed') throw new Error('abort after commit');
    this.state = 'aborted';
  }
}

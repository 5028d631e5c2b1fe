// A fast path for mailauth's search for the end of a message's header block
// (lib/dkim/message-parser.js, the base of its DKIM verifier). mailauth looks at one byte
// at a time and copies the last four into a new array for every byte: ~59 KB of garbage
// and ~1.5 % of local mode's CPU per message in the burst (issue 18), for a header that
// is all local mode hands over for unsigned mail (whatMailauthReads). Here the end is
// found with Buffer.indexOf over the LFs; the bytes before it are filed as mailauth
// files them, and the last three bytes up to the end go through mailauth's own code,
// which then parses the header and goes on with the body as always.
import { createRequire } from 'node:module';

const CR = 0x0d;
const LF = 0x0a;

/** What the fast path reads and writes of mailauth's MessageParser (mailauth 4.13). */
export interface HeaderScanner {
  state: string;
  stateBytes: number[];
  headerChunks: Buffer[];
  processChunk(chunk: Buffer): Promise<void>;
}

type ProcessChunk = (this: HeaderScanner, chunk: Buffer) => Promise<void>;

/**
 * Offset in `chunk` of the LF that ends the header block, as mailauth finds it: the first
 * LF whose previous byte is an LF, or a CR with an LF before it. `previous` is the last
 * bytes before this chunk (mailauth's `stateBytes`). -1 when the chunk does not end it.
 */
export function headerBlockEndIn(previous: readonly number[], chunk: Buffer): number {
  const before = (at: number): number | undefined => (at >= 0 ? chunk[at] : previous[previous.length + at]);
  for (let at = chunk.indexOf(LF); at !== -1; at = chunk.indexOf(LF, at + 1)) {
    const b1 = before(at - 1);
    if (b1 === LF || (b1 === CR && before(at - 2) === LF)) return at;
  }
  return -1;
}

/** mailauth's processChunk with the fast path in front of it. */
export function withFastHeaderScan(original: ProcessChunk): ProcessChunk {
  return function processChunk(this: HeaderScanner, chunk: Buffer): Promise<void> {
    if (this.state !== 'header' || !chunk?.length) return original.call(this, chunk);
    const end = headerBlockEndIn(this.stateBytes, chunk);
    // Everything before the end's last three bytes is header: filed as mailauth would.
    const filed = end === -1 ? chunk.length : Math.max(0, end - 2);
    if (filed > 0) {
      const head = chunk.subarray(0, filed);
      this.stateBytes = [...this.stateBytes, ...head.subarray(Math.max(0, head.length - 4))].slice(-4);
      this.headerChunks.push(head);
    }
    if (filed === chunk.length) return Promise.resolve();
    return original.call(this, chunk.subarray(filed));
  };
}

interface MessageParserModule {
  MessageParser?: { prototype: { processChunk?: ProcessChunk } };
}

let installed: boolean | null = null;

/**
 * Puts the fast path in front of mailauth's own, once per process. Returns false, and
 * leaves mailauth as it is (correct, only slower), when its internals are not where
 * mailauth 4.13 has them; a test watches for that on upgrades.
 */
export function installFastHeaderScan(): boolean {
  if (installed !== null) return installed;
  let module: MessageParserModule;
  try {
    module = createRequire(import.meta.url)('mailauth/lib/dkim/message-parser.js') as MessageParserModule;
  } catch {
    installed = false;
    return installed;
  }
  const prototype = module.MessageParser?.prototype;
  const original = prototype?.processChunk;
  installed = prototype !== undefined && typeof original === 'function';
  if (installed) prototype!.processChunk = withFastHeaderScan(original!);
  return installed;
}

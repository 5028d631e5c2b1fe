// Bodies that may outgrow a Lambda response (core/payload-limits.ts): read up to the
// limit; what fits is answered from the function, what does not goes through a
// presigned download link where the deployment has one (AWS), untouched and whole.
import { Readable } from 'node:stream';
import { MAX_WEB_BODY_BYTES } from '../../lambdas/core/payload-limits.ts';

export type Bounded = { whole: Buffer } | { overflow: Readable };

/** The stream's bytes when they fit in `limit`; else a stream of all of them (the part read included). */
export async function readBounded(source: Readable, limit = MAX_WEB_BODY_BYTES): Promise<Bounded> {
  const chunks: Buffer[] = [];
  let total = 0;
  const iterator = source[Symbol.asyncIterator]();
  for (;;) {
    const next = (await iterator.next()) as IteratorResult<Buffer>;
    if (next.done) return { whole: Buffer.concat(chunks) };
    chunks.push(next.value);
    total += next.value.length;
    if (total > limit) {
      const rest = (async function* () {
        yield* chunks;
        for (
          let more = (await iterator.next()) as IteratorResult<Buffer>;
          !more.done;
          more = (await iterator.next()) as IteratorResult<Buffer>
        )
          yield more.value;
      })();
      return { overflow: Readable.from(rest, { objectMode: false }) };
    }
  }
}

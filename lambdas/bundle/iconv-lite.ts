// iconv-lite in the Lambda bundles, minus one codec built at load. libmime 5.6 (both its
// builds: mailparser loads the ES one, mailsplit the CommonJS one) runs
// `iconv.getCodec('gbk').decoder` when it is imported, only to learn the decoder class
// iconv-lite's double-byte codecs share; building the GBK codec decodes the cp936 tables
// (~20 CPU ms of every cold start). Here getCodec('gbk') answers that class at once and
// builds the real codec on the first use of anything else; every other name, and every
// decode or encode iconv-lite runs itself, go to the real iconv-lite unchanged, so GBK and
// GB18030 mail decodes as before (test/unit/lambdas/bundle/iconv-lite.test.ts).
// The imports name iconv-lite's files: MailFunction aliases `iconv-lite/lib` and
// `iconv-lite/encodings` to themselves, so that the alias of `iconv-lite` to this module
// does not catch them.
// @ts-expect-error iconv-lite ships no types for its codec modules
import dbcsCodec from 'iconv-lite/encodings/dbcs-codec.js';
import iconv from 'iconv-lite/lib/index.js';

interface Codec {
  decoder: unknown;
  encoder: unknown;
}

const DBCS = (dbcsCodec as { _dbcs: { prototype: Codec } })._dbcs.prototype;

/** The names iconv-lite resolves to its GBK codec cheaply (what libmime asks at load; its normalized name). */
const GBK_NAMES = new Set(['gbk', 'GBK']);

let gbk: Codec | undefined;
const realGbk = (): Codec => {
  gbk ??= iconv.getCodec('gbk') as unknown as Codec;
  return gbk;
};

/** The GBK codec, built when something other than its decoder or encoder class is read. */
const gbkStandIn: Codec = new Proxy({} as Codec, {
  get: (_, key) => (key === 'decoder' ? DBCS.decoder : key === 'encoder' ? DBCS.encoder : Reflect.get(realGbk(), key)),
  has: (_, key) => Reflect.has(realGbk(), key),
});

const wrapped: typeof iconv = Object.create(iconv);
wrapped.getCodec = ((encoding: string) => (GBK_NAMES.has(encoding) ? gbkStandIn : iconv.getCodec(encoding))) as typeof iconv.getCodec;

export default wrapped;

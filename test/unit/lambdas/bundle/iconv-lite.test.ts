// iconv-lite as the Lambda bundles see it: getCodec('gbk') answers the DBCS decoder class
// libmime asks for at load without building the GBK codec; everything else is iconv-lite's.
import iconv from 'iconv-lite';
import { describe, expect, it } from 'vitest';
import wrapped from '../../../../lambdas/bundle/iconv-lite.ts';

const cache = () => (iconv as unknown as { _codecDataCache: Record<string, unknown> })._codecDataCache;

describe('the iconv-lite of the Lambda bundles', () => {
  it("answers getCodec('gbk').decoder — the class every double-byte codec shares — without building the GBK codec", () => {
    // Act
    const decoder = (wrapped.getCodec('gbk') as unknown as { decoder: unknown }).decoder;

    // Assess
    expect(cache().gbk).toBeUndefined();
    expect(decoder).toBe((iconv.getCodec('big5') as unknown as { decoder: unknown }).decoder);
    expect((wrapped.getCodec('GBK') as unknown as { decoder: unknown }).decoder).toBe(decoder);
    expect(cache().gbk).toBeUndefined();
  });

  it('builds the real GBK codec when more of it is read, and decodes GBK and GB18030 as iconv-lite does', () => {
    // Prepare
    const text = '你好，世界 € 𠀀';

    // Act
    const codec = wrapped.getCodec('GBK') as unknown as { encodingName: string };

    // Assess
    expect(codec.encodingName).toBe('gbk');
    expect(wrapped.decode(iconv.encode('你好，世界', 'gbk'), 'GBK')).toBe('你好，世界');
    expect(wrapped.decode(iconv.encode(text, 'gb18030'), 'gb18030')).toBe(text);
    expect(wrapped.getDecoder('gbk').write(iconv.encode('季度', 'gbk'))).toBe('季度');
  });

  it('hands every other name to iconv-lite', () => {
    expect(wrapped.getCodec('utf7')).toBe(iconv.getCodec('utf7'));
    expect(wrapped.getCodec('big5')).toBe(iconv.getCodec('big5'));
    expect(wrapped.encodingExists('gb2312')).toBe(true);
    expect(() => wrapped.getCodec('no-such-charset')).toThrow();
  });
});

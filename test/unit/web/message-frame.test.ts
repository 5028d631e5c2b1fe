// How tall the message frame is drawn (frameHeight): a short message gets a short frame,
// so its attachments stay in view; what cannot be estimated from the markup (images,
// tables, long content) keeps the tall default. Chromium checks the result:
// test/system/web/views/mail/message.frame-height.test.ts.
import { describe, expect, it } from 'vitest';
import { FRAME_MAX_FITTED_PX, frameHeight } from '../../../web/message-frame.ts';

describe('frameHeight', () => {
  it('gives a one-line text message a frame of a few lines', () => {
    // Prepare + Act
    const height = frameHeight({ text: 'See you at 3.', html: null });
    // Assess
    expect(height).not.toBeNull();
    expect(height!).toBeGreaterThanOrEqual(44);
    expect(height!).toBeLessThan(120);
  });

  it('grows with the lines, long lines counted as wrapped', () => {
    // Prepare
    const ten = Array.from({ length: 10 }, (_, i) => `line ${i}`).join('\n');
    const wrapped = 'word '.repeat(80);
    // Act
    const [one, tenLines, long] = [
      frameHeight({ text: 'x', html: null }),
      frameHeight({ text: ten, html: null }),
      frameHeight({ text: wrapped, html: null }),
    ];
    // Assess
    expect(tenLines!).toBeGreaterThan(one! + 8 * 18);
    expect(long!).toBeGreaterThan(one!);
  });

  it('estimates short HTML by its blocks and text, and leaves images, tables and long content to the default', () => {
    // Prepare + Act
    const short = frameHeight({ text: null, html: '<p>Hello Bob,</p><p>see you.</p>' });
    const image = frameHeight({ text: null, html: '<p>Hi</p><img src="cid:x">' });
    const table = frameHeight({ text: null, html: '<table><tr><td>a</td></tr></table>' });
    const long = frameHeight({ text: 'x\n'.repeat(200), html: null });
    // Assess
    expect(short).not.toBeNull();
    expect(short!).toBeLessThan(160);
    expect([image, table, long]).toEqual([null, null, null]);
    expect(frameHeight({ text: 'x\n'.repeat(20), html: null })!).toBeLessThanOrEqual(FRAME_MAX_FITTED_PX);
  });
});

// Bounded memory of the ingest parse on the largest message SES accepts (40 MB):
// each case generates the message on disk and parses it in a child process of
// its own, whose peak RSS must stay well under a 256 MB Lambda.
import { describe, expect, it } from 'vitest';
import { measureIngestRss } from '../../../../support/measure-ingest-rss.ts';

const MESSAGE_BYTES = 40 * 1024 * 1024;
const PEAK_RSS_LIMIT_MB = 256;

describe('MailparserMimeParser memory on 40 MB messages', () => {
  it('stays under 256 MB peak RSS for one 40 MB base64 attachment', async () => {
    // Prepare + Act: generate (in this process), parse from a file stream (in a child).
    const result = await measureIngestRss('attachment', MESSAGE_BYTES);

    // Assess: the parse really read the attachment (3/4 of the base64 bytes), within the budget.
    console.info(`40 MB attachment: ${JSON.stringify(result)}`);
    expect(result.bytes).toBe(MESSAGE_BYTES);
    expect(result.subject).toBe('large attachment message');
    expect(result.attachmentBytes).toBeGreaterThan(MESSAGE_BYTES * 0.7);
    expect(result.peakRssMb).toBeLessThan(PEAK_RSS_LIMIT_MB);
  });

  it('stays under 256 MB peak RSS for a 40 MB text body', async () => {
    // Prepare + Act
    const result = await measureIngestRss('text', MESSAGE_BYTES);

    // Assess: a full snippet came out of the body, within the budget.
    console.info(`40 MB text body: ${JSON.stringify(result)}`);
    expect(result.bytes).toBe(MESSAGE_BYTES);
    expect(result.subject).toBe('large text message');
    expect(result.snippetLength).toBeGreaterThan(150);
    expect(result.peakRssMb).toBeLessThan(PEAK_RSS_LIMIT_MB);
  });
});

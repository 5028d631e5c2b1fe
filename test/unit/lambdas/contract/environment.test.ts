// The queue list the stack gives the webmail (WEB_ENV.deadLetterQueueUrls): written by the
// construct with formatQueueUrls, read by the function with parseQueueUrls; anything else is refused.
import { describe, expect, it } from 'vitest';
import { formatQueueUrls, parseQueueUrls } from '../../../../lambdas/contract/environment.ts';

describe('formatQueueUrls / parseQueueUrls', () => {
  it('round-trips labelled queue URLs, and reads an empty value as none', () => {
    // Prepare
    const queues = { ingest: 'https://sqs.eu-west-1.amazonaws.com/1/a', forward: 'https://sqs.eu-west-1.amazonaws.com/1/b' };
    // Act
    const parsed = parseQueueUrls(formatQueueUrls(queues));
    // Assess
    expect(parsed).toEqual([
      { label: 'ingest', url: queues.ingest },
      { label: 'forward', url: queues.forward },
    ]);
    expect(parseQueueUrls('')).toEqual([]);
  });

  it.each(['ingest', 'ingest=http://sqs.example/1/a', 'Ingest=https://sqs.example/1/a', '=https://sqs.example/1/a', 'a=https://x y'])(
    'refuses %j',
    (value) => {
      // Prepare + Act
      const parsed = parseQueueUrls(value);
      // Assess
      expect(parsed).toBeNull();
    },
  );
});

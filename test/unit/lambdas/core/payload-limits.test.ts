// The one figure for webmail request and response bodies against the platform's limits
// it is derived from (core/payload-limits.ts): base64 of the body plus the event around
// it fits a synchronous Lambda payload, the HTTP API takes it, and the largest valid
// compose form (text at 3 UTF-8 bytes per code unit, every other field at its limit)
// fits the body limit, so no form the webmail accepts as valid is refused for its size.
import { describe, expect, it } from 'vitest';
import { DEFAULT_COMPOSE_LIMITS } from '../../../../lambdas/core/compose/draft.ts';
import {
  base64Length,
  EVENT_ENVELOPE_BYTES,
  HTTP_API_PAYLOAD_BYTES,
  LAMBDA_SYNC_PAYLOAD_BYTES,
  MAX_WEB_BODY_BYTES,
} from '../../../../lambdas/core/payload-limits.ts';

describe('the webmail body limit', () => {
  it('fits a synchronous Lambda payload even base64-encoded, and the HTTP API', () => {
    expect(base64Length(MAX_WEB_BODY_BYTES) + EVENT_ENVELOPE_BYTES).toBeLessThanOrEqual(LAMBDA_SYNC_PAYLOAD_BYTES);
    expect(MAX_WEB_BODY_BYTES).toBeLessThan(HTTP_API_PAYLOAD_BYTES);
    // The headers an HTTP API passes (at most 10,240 bytes) fit the envelope with room for the request context.
    expect(EVENT_ENVELOPE_BYTES).toBeGreaterThan(4 * 10_240);
  });

  it('is above the largest compose form that validates', () => {
    const limits = DEFAULT_COMPOSE_LIMITS;
    const addressField = limits.maxRecipients * (254 + limits.maxNameLength * 3 + 4);
    const otherFields = 3 * addressField + limits.maxSubjectLength * 3 + limits.maxReferences * 260 + 64 * 1024;
    expect(limits.maxTextLength * 3 + otherFields).toBeLessThanOrEqual(MAX_WEB_BODY_BYTES);
  });

  it('computes base64 lengths with padding', () => {
    expect([0, 1, 2, 3, 4, 3 * 1024].map(base64Length)).toEqual([0, 4, 4, 4, 8, 4096]);
  });
});

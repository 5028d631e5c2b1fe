// How much one webmail request or response may carry, in AWS and (the same figure) in
// local mode: a synchronous Lambda invocation carries at most 6 MB each way, base64 and
// headers included, and the HTTP API at most 10 MB. Files therefore never pass through
// the function. The figures and their sources: docs/design.md §3 ("Sizes").

/** A synchronous Lambda invocation's request or response, as counted here. */
export const LAMBDA_SYNC_PAYLOAD_BYTES = 6_000_000;
/** The HTTP API's payload quota (10 MB, not adjustable). */
export const HTTP_API_PAYLOAD_BYTES = 10_000_000;
/** Room in the event for everything but the body: headers, cookies, request context, JSON framing. */
export const EVENT_ENVELOPE_BYTES = 64 * 1024;

/**
 * The largest request body the webmail accepts and the largest response body it
 * sends from the function. Base64 of it plus the envelope stays under the Lambda
 * payload: 4 MiB → 5,592,408 bytes of base64 + 65,536 < 6,000,000.
 */
export const MAX_WEB_BODY_BYTES = 4 * 1024 * 1024;

/**
 * The largest request body accepted from a client without a session: sign-out and the
 * outage link's confirmation are small forms, and nobody unknown may make the server read
 * (or hold) megabytes. Checked before anything parses the body (web/middleware/body-limit.ts,
 * and in front of the app in local mode, wiring/local-http-guard.ts).
 */
export const MAX_BODY_WITHOUT_SESSION_BYTES = 64 * 1024;

/** Bytes of the base64 form of `bytes` bytes (padding included). */
export function base64Length(bytes: number): number {
  return Math.ceil(bytes / 3) * 4;
}

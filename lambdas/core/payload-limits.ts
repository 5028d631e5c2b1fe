// How much one webmail request or response may carry, in AWS and (the same figure)
// in local mode. The webmail runs as one Lambda function behind an HTTP API:
// - a synchronous Lambda invocation carries at most 6 MB of request and 6 MB of
//   response (Lambda Invoke API reference, "For synchronous invocations, the maximum
//   payload size is 6 MB": https://docs.aws.amazon.com/lambda/latest/dg/API_Invoke.html);
//   counted here as 6,000,000 bytes, the smaller reading of "MB";
// - that payload is the event JSON: the body, base64-encoded when the HTTP API treats
//   it as binary (it infers that from Content-Type, and does not document which types
//   count as text: https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html,
//   so we assume the worst, 4/3 of the bytes), plus request line, headers (an HTTP API
//   takes at most 10,240 bytes of them) and the request context;
// - the HTTP API itself takes at most 10 MB
//   (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-quotas.html).
// Files therefore never pass through the function: attachments go straight to S3 with
// a presigned POST, downloads come from S3 through presigned GETs.

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

/** Bytes of the base64 form of `bytes` bytes (padding included). */
export function base64Length(bytes: number): number {
  return Math.ceil(bytes / 3) * 4;
}

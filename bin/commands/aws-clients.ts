// The settings every AWS client of the CLI is made with: bounded in time. The SDK's
// request timeout alone only logs a warning and waits on (`throwOnRequestTimeout`), so an
// endpoint that accepts the connection and never answers — a proxy or firewall swallowing
// it — hung `failover on` for good on the day it is needed. Now each attempt ends after
// the request timeout, the SDK retries what is transient, and the whole call is bounded.
// https://docs.aws.amazon.com/sdk-for-javascript/v3/developer-guide/node-configuring-maxsockets.html
// (requestHandler options), https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html

const ATTEMPTS = 3;
const CONNECTION_TIMEOUT_MS = 5_000;
// Socket inactivity, not the whole response: AWS answers an API call within a second or two.
const REQUEST_TIMEOUT_MS = 5_000;

/** The longest one CLI call to an endpoint that accepts and never answers can take: every attempt timing out (backoff aside). */
export const CLI_AWS_CALL_DEADLINE_MS = ATTEMPTS * REQUEST_TIMEOUT_MS;

/** The client configuration for `region` (undefined: the SDK's default region, from the environment or profile). */
export function cliAwsConfig(region?: string | undefined) {
  return {
    ...(region && { region }),
    maxAttempts: ATTEMPTS,
    requestHandler: { connectionTimeout: CONNECTION_TIMEOUT_MS, requestTimeout: REQUEST_TIMEOUT_MS, throwOnRequestTimeout: true },
  };
}

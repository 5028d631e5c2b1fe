// Lambda's account-level concurrency rules, shared by the stacks (what a reservation
// needs) and `shadowmail doctor` (what the account has). No CDK import: the CLI loads it.

/**
 * AWS keeps this much account concurrency unreserved: "You can reserve up to the Unreserved account concurrency
 * value … minus 100" (https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html).
 */
export const LAMBDA_MIN_UNRESERVED_CONCURRENCY = 100;

/**
 * The default "Concurrent executions" quota; "New AWS accounts have reduced concurrency and memory quotas" that AWS
 * raises with use, no number given (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html).
 */
export const LAMBDA_DEFAULT_CONCURRENCY_QUOTA = 1000;

// Stand-in of @aws-sdk/credential-provider-node in the Lambda bundles: the SDK clients'
// default credential chain reduced to its first link, the environment. Lambda hands a
// function its execution role's credentials in AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY
// and AWS_SESSION_TOKEN
// (https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime),
// and with no AWS_PROFILE set the full chain stops at that link too. The rest of it — SSO,
// shared ini files, credential processes, web identity, the container and instance
// metadata services, and the STS and SSO clients they build — is ~100 KB the bundle
// compiled at every cold start for nothing (issue 18).
import { fromEnv } from '@aws-sdk/credential-provider-env';

type Init = Parameters<typeof fromEnv>[0];
type Credentials = { expiration?: Date };

/** The chain as the SDK's runtime configuration calls it: here the environment alone. */
export const defaultProvider = (init: Init = {}) => fromEnv(init);

// The package's other exports, as it defines them.
export const credentialsWillNeedRefresh = (credentials: Credentials): boolean => credentials?.expiration !== undefined;
export const credentialsTreatedAsExpired = (credentials: Credentials): boolean =>
  credentials?.expiration !== undefined && credentials.expiration.getTime() - Date.now() < 300_000;

// Composition root of Cognito's sign-in trigger in AWS: the flag from SSM behind the same
// ≤ 30 s cache as the webmail's, the directory and audit log in the message table, and the
// pool's MFA settings through AdminGetUser. Built once per execution environment.
import { CognitoIdentityProviderClient } from '@aws-sdk/client-cognito-identity-provider';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SSMClient } from '@aws-sdk/client-ssm';
import { CognitoSignInFactors } from '../adapters/aws/cognito-sign-in-factors.ts';
import { DynamoDbAdminSetupWindows } from '../adapters/aws/dynamodb-admin-setup-windows.ts';
import { DynamoDbAuditLog } from '../adapters/aws/dynamodb-audit-log.ts';
import { DynamoDbDirectoryStore } from '../adapters/aws/dynamodb-directory-store.ts';
import { SsmFailoverFlag } from '../adapters/aws/ssm-failover-flag.ts';
import { ENV, SIGN_IN_TRIGGER_ENV, WEB_ENV } from '../contract/environment.ts';
import { SERVICE } from '../contract/metrics.ts';
import { CachedFailoverFlag } from '../core/failover.ts';
import { createObservability } from '../handlers/observability.ts';
import type { createSignInTriggerHandler } from '../handlers/sign-in-trigger.ts';
import { systemClock } from '../ports/clock.ts';
import { readAwsSignInTriggerEnv } from './env.ts';

export function awsSignInTriggerDeps(source: NodeJS.ProcessEnv = process.env): Parameters<typeof createSignInTriggerHandler>[0] {
  const env = readAwsSignInTriggerEnv(source);
  const dynamo = new DynamoDBClient({});
  const tableName = env[ENV.tableName];
  return {
    flag: new CachedFailoverFlag(new SsmFailoverFlag(new SSMClient({}), env[WEB_ENV.failoverParameter]), {
      maxAgeMs: env[WEB_ENV.failoverCacheSeconds] * 1000,
    }),
    directory: new DynamoDbDirectoryStore({ client: dynamo, tableName }),
    audit: new DynamoDbAuditLog({ client: dynamo, tableName }),
    factors: new CognitoSignInFactors(new CognitoIdentityProviderClient({})),
    setupWindows: new DynamoDbAdminSetupWindows({ client: dynamo, tableName }),
    clock: systemClock,
    admins: env[WEB_ENV.breakGlassAdmins],
    staffCodes: env[SIGN_IN_TRIGGER_ENV.staffSmsCodes],
    logger: createObservability(SERVICE.signInTrigger).logger,
  };
}

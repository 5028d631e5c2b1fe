// Composition root of the outage alarm function in AWS (entry lambdas/entry/outage-alarm.ts):
// the links are signed with a key derived from the webmail's session secret (read once per
// cold start), taken once in the message table, sent by SNS SMS and SES, audited in the
// table; the flag read from its SSM parameter (nothing is sent while failover is on).
import { getSecret } from '@aws-lambda-powertools/parameters/secrets';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { SNSClient } from '@aws-sdk/client-sns';
import { SSMClient } from '@aws-sdk/client-ssm';
import { DynamoDbAuditLog } from '../adapters/aws/dynamodb-audit-log.ts';
import { DynamoDbSingleUse } from '../adapters/aws/dynamodb-single-use.ts';
import { SesNoticeMailer } from '../adapters/aws/ses-notice-mailer.ts';
import { SnsSmsSender } from '../adapters/aws/sns-sms-sender.ts';
import { SsmFailoverFlag } from '../adapters/aws/ssm-failover-flag.ts';
import { ALARM_ENV, ENV, WEB_ENV } from '../contract/environment.ts';
import { SERVICE } from '../contract/metrics.ts';
import { ConfigurationError } from '../core/errors.ts';
import { OutageLinkSigner } from '../core/outage-link.ts';
import { createObservability } from '../handlers/observability.ts';
import type { OutageAlarmHandlerDeps } from '../handlers/outage-alarm.ts';
import { systemClock } from '../ports/clock.ts';
import { readAwsOutageAlarmEnv } from './env.ts';

export async function awsOutageAlarmDeps(source: NodeJS.ProcessEnv = process.env): Promise<OutageAlarmHandlerDeps> {
  const env = readAwsOutageAlarmEnv(source);
  const secret = await getSecret(env[WEB_ENV.sessionSecretArn]);
  if (typeof secret !== 'string' || secret.trim().length < 32)
    throw new ConfigurationError(WEB_ENV.sessionSecretArn, 'the session secret must be a string of at least 32 characters');
  const dynamo = new DynamoDBClient({});
  const tableName = env[ENV.tableName];
  return {
    backlogAlarmName: env[ALARM_ENV.backlogAlarmName],
    links: {
      admins: env[ALARM_ENV.admins],
      signer: new OutageLinkSigner(secret.trim()),
      singleUse: new DynamoDbSingleUse({ client: dynamo, tableName }),
      sms: new SnsSmsSender({ client: new SNSClient({}) }),
      mail: new SesNoticeMailer({ client: new SESv2Client({}), from: env[ALARM_ENV.noticeFrom] }),
      flag: new SsmFailoverFlag(new SSMClient({}), env[WEB_ENV.failoverParameter]),
      audit: new DynamoDbAuditLog({ client: dynamo, tableName }),
      clock: systemClock,
      publicOrigin: new URL(env[WEB_ENV.publicUrl]).origin,
      timeZone: env[WEB_ENV.timeZone],
    },
    logger: createObservability(SERVICE.outageAlarm).logger,
  };
}

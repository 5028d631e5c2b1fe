// doctor, notices: what breaks SMS and notice mail on the day, checked before it.
// - SMS sandbox (GetSMSSandboxAccountStatus): while the account is in it, SMS reach only
//   verified destination numbers — break-glass sign-in codes and SMS notices to everyone
//   else fail (https://docs.aws.amazon.com/sns/latest/dg/sns-sms-sandbox.html).
// - Monthly SMS spend limit (GetSMSAttributes MonthlySpendLimit): $1.00 for new accounts;
//   SNS stops sending SMS within minutes once a message would pass it
//   (https://docs.aws.amazon.com/sns/latest/dg/channels-sms-awssupport-spend-threshold.html).
//   Compared with one outage day: a code per user with a number, and the on/off notices
//   when SMS notices are configured, at the cost model's SMS price.
// - SES sandbox for notice mail (GetAccount ProductionAccessEnabled): private addresses
//   are not verified identities, so no notice mail arrives from the sandbox.
// The checks are pure functions of what AWS answered; noticeChecks() asks.

import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetAccountCommand, type GetAccountCommandOutput, SESv2Client } from '@aws-sdk/client-sesv2';
import { GetSMSAttributesCommand, GetSMSSandboxAccountStatusCommand, SNSClient } from '@aws-sdk/client-sns';
import { ASSUMPTIONS, PRICE_TABLE } from '../../../cost/cost-model.ts';
import { DynamoDbDirectoryStore } from '../../../lambdas/adapters/aws/dynamodb-directory-store.ts';
import { parseNoticeChannels } from '../../../lambdas/contract/environment.ts';
import { canSignIn } from '../../../lambdas/core/directory.ts';
import { cliAwsConfig } from '../aws-clients.ts';
import { type Check, callFailed, ok, warn } from './check.ts';
import { type DoctorContext, missingOutput } from './context.ts';

export type NoticeChannels = { sms: boolean; email: boolean };

const DOC = 'docs/deploy.md, "Failover notices to staff"';

export function channelsCheck(channels: NoticeChannels): Check {
  const on = [channels.sms && 'SMS', channels.email && 'mail to private addresses'].filter(Boolean);
  return ok(
    'notices',
    'notice channels',
    on.length > 0 ? `failover notices by ${on.join(' and ')}` : 'failover notices are off (breakGlass.notices)',
  );
}

/** In the SMS sandbox only verified numbers get SMS: the codes of the break-glass sign-in and SMS notices. */
export function smsSandboxCheck(inSandbox: boolean): Check {
  const name = 'SMS sandbox';
  if (!inSandbox) return ok('notices', name, 'out of the SMS sandbox: SMS reach any number');
  return warn(
    'notices',
    name,
    'the account is in the SMS sandbox: SMS reach only verified destination numbers, so break-glass sign-in codes and SMS notices to staff fail',
    `request leaving the SMS sandbox in the SNS console (Text messaging (SMS) → Exit SMS sandbox) in this region before the first drill (${DOC})`,
  );
}

export interface SpendNeed {
  /** Enabled personal users with a mobile number. */
  usersWithNumber: number;
  smsNotices: boolean;
  pricePerPartUSD: number;
}

/** SMS parts and USD of one outage day: a code per user with a number, and the on/off notices when configured. */
export function outageDaySms(need: SpendNeed): { parts: number; usd: number } {
  const codes = need.usersWithNumber * ASSUMPTIONS.codeSignInsPerUserDay * ASSUMPTIONS.codeSmsParts;
  const notices = need.smsNotices ? need.usersWithNumber * ASSUMPTIONS.noticesPerFailover * ASSUMPTIONS.noticeSmsParts : 0;
  const parts = codes + notices;
  return { parts, usd: parts * need.pricePerPartUSD };
}

/** The account's monthly SMS spend limit against one outage day's SMS. */
export function spendLimitCheck(limit: string | undefined, need: SpendNeed): Check {
  const name = 'SMS spend limit';
  const day = outageDaySms(need);
  const what = `one outage day is about ${day.parts} SMS parts (${need.usersWithNumber} users with a number${need.smsNotices ? ', codes and on/off notices' : ', one code each'}), about ${day.usd.toFixed(2)} USD at ${need.pricePerPartUSD} USD per part`;
  const usd = limit === undefined || limit.trim() === '' ? Number.NaN : Number(limit);
  if (!Number.isFinite(usd)) {
    return warn(
      'notices',
      name,
      `SNS reports no monthly SMS spend limit; ${what}`,
      `check the account's SMS spending quota in the SNS console (${DOC})`,
    );
  }
  if (usd < day.usd) {
    return warn(
      'notices',
      name,
      `the monthly SMS spend limit is ${usd} USD, but ${what}: SNS stops sending SMS once the limit is reached`,
      `request a higher SMS spending quota (AWS Support, "SNS Text Messaging") and set MonthlySpendLimit to cover a few outage days (${DOC})`,
    );
  }
  return ok(
    'notices',
    name,
    `monthly SMS spend limit ${usd} USD covers ${Math.floor(usd / Math.max(day.usd, 0.01))} outage day(s): ${what}`,
  );
}

/** Notice mail goes to private addresses, which the SES sandbox does not reach. */
export function noticeMailCheck(account: GetAccountCommandOutput): Check {
  const name = 'notice mail';
  if (account.ProductionAccessEnabled !== true) {
    return warn(
      'notices',
      name,
      'SES sandbox: notice mail to private addresses fails (only verified identities are reached)',
      `request SES production access in this region (docs/deploy.md 2.2, ${DOC})`,
    );
  }
  return ok('notices', name, 'SES production access: notice mail reaches private addresses');
}

export async function noticeChecks(ctx: DoctorContext): Promise<Check[]> {
  const value = ctx.outputs.get('noticeChannels');
  if (value === undefined) return [missingOutput('notices', 'notice channels', 'noticeChannels')];
  const channels = parseNoticeChannels(value) ?? { sms: false, email: false };
  const checks = [channelsCheck(channels)];
  const sns = new SNSClient(cliAwsConfig(ctx.region));
  try {
    // Break-glass codes use SMS whatever the notices: the sandbox and the limit always matter.
    try {
      const status = await sns.send(new GetSMSSandboxAccountStatusCommand({}));
      checks.push(smsSandboxCheck(status.IsInSandbox === true));
    } catch (error) {
      checks.push(callFailed('notices', 'SMS sandbox', 'sns:GetSMSSandboxAccountStatus', error));
    }
    const users = await usersWithNumber(ctx).catch((error: unknown) => error);
    if (typeof users !== 'number') checks.push(callFailed('notices', 'SMS spend limit', 'dynamodb:Query', users));
    else {
      try {
        const attributes = await sns.send(new GetSMSAttributesCommand({ attributes: ['MonthlySpendLimit'] }));
        const pricePerPartUSD =
          PRICE_TABLE.prices['sms.outboundPart'].usd[ctx.region] ?? PRICE_TABLE.prices['sms.outboundPart'].usd['eu-west-1']!;
        checks.push(
          spendLimitCheck(attributes.attributes?.MonthlySpendLimit, { usersWithNumber: users, smsNotices: channels.sms, pricePerPartUSD }),
        );
      } catch (error) {
        checks.push(callFailed('notices', 'SMS spend limit', 'sns:GetSMSAttributes', error));
      }
    }
  } finally {
    sns.destroy();
  }
  if (channels.email) {
    const ses = new SESv2Client(cliAwsConfig(ctx.region));
    try {
      checks.push(noticeMailCheck(await ses.send(new GetAccountCommand({}))));
    } catch (error) {
      checks.push(callFailed('notices', 'notice mail', 'ses:GetAccount', error));
    } finally {
      ses.destroy();
    }
  }
  return checks;
}

/** Enabled personal users of the synced directory with a mobile number. */
async function usersWithNumber(ctx: DoctorContext): Promise<number> {
  const tableName = ctx.outputs.require('tableName');
  const dynamo = new DynamoDBClient(cliAwsConfig(ctx.region));
  try {
    const { users } = await new DynamoDbDirectoryStore({ client: dynamo, tableName }).readState();
    return users.filter((user) => canSignIn(user) && user.mobile).length;
  } finally {
    dynamo.destroy();
  }
}

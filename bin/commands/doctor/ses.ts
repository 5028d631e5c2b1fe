// doctor, SES: the region receives mail; every domain identity is verified with DKIM
// SUCCESS (and its custom MAIL FROM, if any); the account may send (and is out of the
// sandbox, or the admin is told what that means for webmail replies), and its sending quota
// is the webmail.sesDailyQuota the quota alarm is set by (output SesDailyQuota); our receipt rule
// set is the active one; the webmail's configuration set, where the stack has one.
// Checks are pure functions of what SES answered; sesChecks() asks.
import { DescribeActiveReceiptRuleSetCommand, type DescribeActiveReceiptRuleSetCommandOutput, SESClient } from '@aws-sdk/client-ses';
import {
  type EventDestination,
  GetAccountCommand,
  type GetAccountCommandOutput,
  GetConfigurationSetCommand,
  type GetConfigurationSetCommandOutput,
  GetConfigurationSetEventDestinationsCommand,
  GetEmailIdentityCommand,
  type GetEmailIdentityCommandOutput,
  SESv2Client,
  type SendQuota,
} from '@aws-sdk/client-sesv2';
import { SES_RECEIVING_REGIONS } from '../../../lib/ses-regions.ts';
import { cliAwsConfig } from '../aws-clients.ts';
import { type Check, callFailed, fail, ok, warn } from './check.ts';
import { type DoctorContext, missingOutput } from './context.ts';

export function receivingRegionCheck(region: string): Check {
  return SES_RECEIVING_REGIONS.includes(region)
    ? ok('ses', 'receiving region', `SES receives mail in ${region}`)
    : fail(
        'ses',
        'receiving region',
        `SES does not receive mail in ${region}`,
        `deploy to one of ${SES_RECEIVING_REGIONS.join(', ')} (docs/deploy.md 2.1)`,
      );
}

/** An identity as GetEmailIdentity describes it, or null when SES has none for the domain. */
export function identityCheck(domain: string, identity: GetEmailIdentityCommandOutput | null): Check {
  const name = `identity ${domain}`;
  if (!identity) {
    return fail(
      'ses',
      name,
      'SES has no identity for this domain in this region: it refuses mail for it',
      'deploy the stateless stack again (it creates the identity with DKIM)',
    );
  }
  const verified = identity.VerifiedForSendingStatus === true;
  const dkim = identity.DkimAttributes?.Status ?? 'NOT_STARTED';
  const detail = `verified for sending: ${verified ? 'yes' : 'no'}, DKIM ${dkim}`;
  if (!verified || dkim !== 'SUCCESS') {
    // Easy DKIM is how the stack verifies a domain: the CNAMEs are the fix in every case.
    const why =
      dkim === 'PENDING' || dkim === 'NOT_STARTED'
        ? 'SES has not found the DKIM CNAME records yet (it keeps looking for up to 72 hours)'
        : dkim === 'SUCCESS'
          ? 'SES has not finished verifying the domain'
          : `SES found the DKIM records missing or wrong (${dkim})`;
    return fail(
      'ses',
      name,
      `${detail}: ${why}; SES receives no mail for an unverified domain`,
      `publish the three CNAMEs of the DkimRecord<Domain>1..3 outputs exactly (the dns lines below say which are missing), then wait (docs/deploy.md 5.1)`,
    );
  }
  const mailFrom = identity.MailFromAttributes;
  if (mailFrom?.MailFromDomain && mailFrom.MailFromDomainStatus !== 'SUCCESS') {
    return warn(
      'ses',
      name,
      `${detail}; custom MAIL FROM ${mailFrom.MailFromDomain} is ${mailFrom.MailFromDomainStatus ?? 'not set up'}`,
      `publish the MX and SPF records of ${mailFrom.MailFromDomain}; until then SES ${mailFrom.BehaviorOnMxFailure === 'REJECT_MESSAGE' ? 'refuses to send webmail replies' : 'sends with its own MAIL FROM domain'}`,
    );
  }
  return ok('ses', name, mailFrom?.MailFromDomain ? `${detail}, MAIL FROM ${mailFrom.MailFromDomain} SUCCESS` : detail);
}

/**
 * Sending for the webmail: enabled, healthy, out of the sandbox. ProductionAccessEnabled false is the sandbox:
 * "you can only send email to verified identities", 200 a day, 1 a second (SES API v2 reference, GetAccount;
 * https://docs.aws.amazon.com/ses/latest/dg/request-production-access.html). SendQuota.Max24HourSend is the
 * account's quota in this region, -1 for none (https://docs.aws.amazon.com/ses/latest/APIReference-V2/API_SendQuota.html);
 * `configuredQuota` is the deployment's webmail.sesDailyQuota (undefined: the stack predates its output).
 */
export function accountCheck(account: GetAccountCommandOutput, configuredQuota?: number): Check {
  const name = 'sending account';
  if (account.SendingEnabled === false || account.EnforcementStatus === 'SHUTDOWN') {
    return fail(
      'ses',
      name,
      `SES sending is paused in this region (enforcement status ${account.EnforcementStatus ?? 'unknown'}): the webmail cannot send replies`,
      "open the SES console's account dashboard in this region for the reason; AWS resumes sending on request once it is fixed",
    );
  }
  if (account.ProductionAccessEnabled !== true) {
    return warn(
      'ses',
      name,
      'SES sandbox: the webmail can send only to addresses of your own verified domains (at most 200 a day, 1 a second); a reply to an external sender fails',
      'request production access in this region before the first drill (docs/deploy.md 2.2), then set webmail.sesDailyQuota to the quota AWS grants; receiving and relaying to Exchange are not affected',
    );
  }
  if (account.EnforcementStatus === 'PROBATION') {
    return warn(
      'ses',
      name,
      'production access, but the account is on probation (bounces or complaints)',
      "read the SES console's reputation page and fix the cause before AWS pauses sending",
    );
  }
  return quotaCheck(name, account.SendQuota, configuredQuota);
}

/** The quota alarm (webmail.sesDailyQuota) against the account's quota: a wrong figure makes it fire too early, or too late. */
function quotaCheck(name: string, quota: SendQuota | undefined, configured: number | undefined): Check {
  const max = quota?.Max24HourSend;
  const sent = quota?.SentLast24Hours !== undefined ? `; ${quota.SentLast24Hours} sent in the last 24 hours` : '';
  if (max === undefined) return ok('ses', name, 'production access, sending enabled');
  if (max === -1) return ok('ses', name, `production access, sending enabled (no daily quota${sent})`);
  if (configured === undefined || configured === max) {
    return ok(
      'ses',
      name,
      `production access, sending enabled (${max} messages a day${configured === undefined ? '' : ', as webmail.sesDailyQuota says'}${sent})`,
    );
  }
  return warn(
    'ses',
    name,
    `the account may send ${max} messages a day, but webmail.sesDailyQuota says ${configured}: ${
      configured > max
        ? "the quota alarm fires late or never, after SES has begun refusing every send (the webmail's included)"
        : 'the quota alarm fires long before the quota is near'
    }`,
    `set "webmail": { "sesDailyQuota": ${max} } in the deployment config and deploy (docs/deploy.md 9.2)`,
  );
}

/** Our rule set must be the active one: SES runs only one per region. */
export function ruleSetCheck(expected: string, active: DescribeActiveReceiptRuleSetCommandOutput): Check {
  const name = `receipt rule set ${expected}`;
  const activeName = active.Metadata?.Name;
  if (!activeName) {
    return fail(
      'ses',
      name,
      'no receipt rule set is active in this region: SES receives no mail',
      `aws ses set-active-receipt-rule-set --rule-set-name ${expected}, or deploy the stateless stack again (its custom resource activates it)`,
    );
  }
  if (activeName !== expected) {
    return fail(
      'ses',
      name,
      `another rule set, "${activeName}", is active: SES runs only one per region, so none of shadowmail's rules receives mail`,
      `move what you need of "${activeName}" into ours and run aws ses set-active-receipt-rule-set --rule-set-name ${expected}, or deploy with "ses": {"takeOverActiveRuleSet": true} (docs/deploy.md 4.3)`,
    );
  }
  const disabled = (active.Rules ?? []).filter((rule) => rule.Enabled === false).map((rule) => rule.Name);
  if ((active.Rules ?? []).length === 0 || disabled.length > 0) {
    return fail(
      'ses',
      name,
      (active.Rules ?? []).length === 0 ? 'active, but it has no rules' : `active, but rule ${disabled.join(', ')} is disabled`,
      'deploy the stateless stack again: it restores the rule',
    );
  }
  return ok('ses', name, `active (${active.Rules!.length} rule${active.Rules!.length === 1 ? '' : 's'})`);
}

/** The webmail's configuration set: present, sending, and reporting bounces and complaints. */
export function configurationSetCheck(name: string, set: GetConfigurationSetCommandOutput | null, destinations: EventDestination[]): Check {
  const label = `configuration set ${name}`;
  if (!set) return fail('ses', label, "SES has no such configuration set: the webmail's sending fails", 'deploy the stateless stack again');
  if (set.SendingOptions?.SendingEnabled === false) {
    return fail(
      'ses',
      label,
      'sending is disabled for this configuration set: the webmail cannot send',
      `aws sesv2 put-configuration-set-sending-options --configuration-set-name ${name} --sending-enabled`,
    );
  }
  const reported = new Set(
    destinations.filter((destination) => destination.Enabled !== false).flatMap((destination) => destination.MatchingEventTypes ?? []),
  );
  const missing = ['BOUNCE', 'COMPLAINT'].filter((type) => !reported.has(type as never));
  if (missing.length > 0) {
    return warn(
      'ses',
      label,
      `no enabled event destination reports ${missing.join(' and ')}: nobody hears of bounced webmail replies`,
      'deploy the stateless stack again: it restores the event destination',
    );
  }
  return ok('ses', label, `sending, events ${[...reported].sort().join(', ')}`);
}

export async function sesChecks(ctx: DoctorContext): Promise<Check[]> {
  const checks = [receivingRegionCheck(ctx.region)];
  const v2 = new SESv2Client(cliAwsConfig(ctx.region));
  const v1 = new SESClient(cliAwsConfig(ctx.region));
  try {
    for (const domain of ctx.domains) {
      try {
        checks.push(identityCheck(domain, await v2.send(new GetEmailIdentityCommand({ EmailIdentity: domain }))));
      } catch (error) {
        checks.push(
          isNotFound(error) ? identityCheck(domain, null) : callFailed('ses', `identity ${domain}`, 'ses:GetEmailIdentity', error),
        );
      }
    }
    try {
      checks.push(accountCheck(await v2.send(new GetAccountCommand({})), configuredQuota(ctx)));
    } catch (error) {
      checks.push(callFailed('ses', 'sending account', 'ses:GetAccount', error));
    }
    const ruleSet = ctx.outputs.get('receiptRuleSetName');
    if (!ruleSet) checks.push(missingOutput('ses', 'receipt rule set', 'receiptRuleSetName'));
    else {
      try {
        checks.push(ruleSetCheck(ruleSet, await v1.send(new DescribeActiveReceiptRuleSetCommand({}))));
      } catch (error) {
        checks.push(callFailed('ses', `receipt rule set ${ruleSet}`, 'ses:DescribeActiveReceiptRuleSet', error));
      }
    }
    const configurationSet = ctx.outputs.get('configurationSetName');
    if (configurationSet) checks.push(await readConfigurationSet(v2, configurationSet));
    return checks;
  } finally {
    v2.destroy();
    v1.destroy();
  }
}

async function readConfigurationSet(client: SESv2Client, name: string): Promise<Check> {
  try {
    const set = await client.send(new GetConfigurationSetCommand({ ConfigurationSetName: name }));
    const { EventDestinations: destinations } = await client.send(
      new GetConfigurationSetEventDestinationsCommand({ ConfigurationSetName: name }),
    );
    return configurationSetCheck(name, set, destinations ?? []);
  } catch (error) {
    return isNotFound(error)
      ? configurationSetCheck(name, null, [])
      : callFailed('ses', `configuration set ${name}`, 'ses:GetConfigurationSet', error);
  }
}

/** The SesDailyQuota output: webmail.sesDailyQuota as deployed; undefined for a stack that predates it. */
function configuredQuota(ctx: DoctorContext): number | undefined {
  const value = Number(ctx.outputs.get('sesDailyQuota'));
  return Number.isInteger(value) && value > 0 ? value : undefined;
}

const isNotFound = (error: unknown): boolean => (error as { name?: string }).name === 'NotFoundException';

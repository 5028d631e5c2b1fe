// doctor, Cognito: the hosted sign-in domain is ACTIVE and answers over HTTPS, and the
// user pool's identity provider is configured and its metadata (SAML: MetadataURL) or
// issuer (OIDC: <oidc_issuer>/.well-known/openid-configuration) answers. Cognito
// fetches the SAML metadata from the internet; doctor fetches it from where it runs, so
// run it from outside the company network to see what Cognito sees.
// Break-glass sign-in (docs/deploy.md §7.4, §7.6): the pool's first factors, MFA, SMS
// configuration and trigger (DescribeUserPool), and each configured break-glass admin
// (output BreakGlassAdmins) exists, is enabled and has TOTP (AdminGetUser).
import {
  AdminGetUserCommand,
  type AdminGetUserCommandOutput,
  CognitoIdentityProviderClient,
  DescribeIdentityProviderCommand,
  DescribeUserPoolCommand,
  DescribeUserPoolDomainCommand,
  type DomainDescriptionType,
  type IdentityProviderType,
  type UserPoolType,
} from '@aws-sdk/client-cognito-identity-provider';
import { cliAwsConfig } from '../aws-clients.ts';
import { type Check, callFailed, fail, ok } from './check.ts';
import { type DoctorContext, missingOutput } from './context.ts';

/** A short wait: these endpoints answer in well under a second when they are up. */
const HTTP_TIMEOUT_MS = 5000;

export type HttpAnswer = { status: number; body: string } | { error: string };

export async function httpGet(url: string, redirect: 'follow' | 'manual' = 'follow'): Promise<HttpAnswer> {
  try {
    const response = await fetch(url, { redirect, signal: AbortSignal.timeout(HTTP_TIMEOUT_MS) });
    return { status: response.status, body: (await response.text()).slice(0, 200_000) };
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    const name = (error as Error).name;
    return {
      error:
        name === 'TimeoutError'
          ? `no answer within ${HTTP_TIMEOUT_MS / 1000} s`
          : (cause?.code ?? cause?.message ?? (error as Error).message),
    };
  }
}

/** The domain name DescribeUserPoolDomain wants: the prefix of <prefix>.auth.<region>.amazoncognito.com, else the host. */
export function cognitoDomainName(baseUrl: string): string {
  const hostname = new URL(baseUrl).hostname;
  return /^([a-z0-9-]+)\.auth\.[a-z0-9-]+\.amazoncognito\.com$/.exec(hostname)?.[1] ?? hostname;
}

export function hostedDomainCheck(
  baseUrl: string,
  userPoolId: string,
  domain: DomainDescriptionType | undefined,
  answer: HttpAnswer,
): Check {
  const name = `sign-in domain ${baseUrl}`;
  if (!domain?.Status)
    return fail('cognito', name, 'Cognito knows no such domain', 'deploy the stateless stack again (webmail.cognitoDomainPrefix)');
  if (domain.UserPoolId && domain.UserPoolId !== userPoolId) {
    return fail(
      'cognito',
      name,
      `the domain belongs to user pool ${domain.UserPoolId}, not ${userPoolId}`,
      'deploy the stateless stack again',
    );
  }
  if (domain.Status !== 'ACTIVE') {
    return fail(
      'cognito',
      name,
      `domain status ${domain.Status}: users cannot sign in`,
      domain.Status === 'FAILED'
        ? 'deploy again; if it stays FAILED, choose another webmail.cognitoDomainPrefix'
        : 'wait until it is ACTIVE and run doctor again',
    );
  }
  if ('error' in answer)
    return fail(
      'cognito',
      name,
      `ACTIVE, but it does not answer over HTTPS: ${answer.error}`,
      "check your network's view of *.amazoncognito.com; users' browsers need it",
    );
  if (answer.status >= 500)
    return fail(
      'cognito',
      name,
      `ACTIVE, but it answers HTTP ${answer.status}`,
      'try again later; see the AWS Health Dashboard for Cognito in this region',
    );
  return ok('cognito', name, `ACTIVE, answers (HTTP ${answer.status})`);
}

/**
 * The identity provider and whether what Cognito reads from it answers: ProviderDetails `MetadataURL` (SAML; a
 * provider made from a file has `MetadataFile` instead) or `oidc_issuer` (OIDC), as the CreateIdentityProvider
 * API reference lists them (https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_CreateIdentityProvider.html).
 */
export function identityProviderCheck(provider: IdentityProviderType | null, providerName: string, answer: HttpAnswer | null): Check {
  const name = `identity provider ${providerName}`;
  if (!provider)
    return fail(
      'cognito',
      name,
      'the user pool has no such identity provider: nobody can sign in',
      'deploy the stateless stack again (identityProvider)',
    );
  const details = provider.ProviderDetails ?? {};
  if (provider.ProviderType === 'SAML') {
    const url = details.MetadataURL;
    if (!url) {
      return ok(
        'cognito',
        name,
        'SAML with metadata from a file: Cognito does not refresh it; re-export and deploy when the AD FS signing certificate rolls over (docs/deploy.md 7.1)',
      );
    }
    if (!answer || 'error' in answer) {
      return fail(
        'cognito',
        name,
        `SAML metadata ${url} unreachable: ${answer && 'error' in answer ? answer.error : 'not fetched'}`,
        'Cognito must reach it from the internet (publish it through the Web Application Proxy), or deploy with identityProvider.metadataFile',
      );
    }
    if (answer.status !== 200 || !/EntityDescriptor/.test(answer.body)) {
      return fail(
        'cognito',
        name,
        `SAML metadata ${url} answers HTTP ${answer.status}${answer.status === 200 ? ' without an EntityDescriptor' : ''}`,
        'point identityProvider.metadataUrl at the federation metadata (https://<adfs>/FederationMetadata/2007-06/FederationMetadata.xml) and deploy',
      );
    }
    return ok('cognito', name, `SAML, metadata ${url} answers`);
  }
  const issuer = details.oidc_issuer;
  if (!issuer)
    return fail(
      'cognito',
      name,
      `${provider.ProviderType ?? 'unknown'} provider without an issuer`,
      'deploy the stateless stack again (identityProvider.issuer)',
    );
  const discovery = discoveryUrl(issuer);
  if (!answer || 'error' in answer) {
    return fail(
      'cognito',
      name,
      `OIDC issuer ${discovery} unreachable: ${answer && 'error' in answer ? answer.error : 'not fetched'}`,
      'check identityProvider.issuer (Entra ID: https://login.microsoftonline.com/<tenant id>/v2.0)',
    );
  }
  let announced: unknown;
  try {
    announced = (JSON.parse(answer.body) as { issuer?: unknown }).issuer;
  } catch {
    announced = undefined;
  }
  if (answer.status !== 200 || announced !== issuer) {
    return fail(
      'cognito',
      name,
      `OIDC discovery ${discovery} answers HTTP ${answer.status}${answer.status === 200 ? ` with issuer ${JSON.stringify(announced)}, not ${issuer}` : ''}`,
      'set identityProvider.issuer to exactly the issuer the provider announces and deploy',
    );
  }
  return ok('cognito', name, `OIDC, issuer ${issuer} answers`);
}

const discoveryUrl = (issuer: string): string => `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;

/**
 * The pool as break-glass sign-in needs it: the Essentials plan or higher (choice-based sign-in),
 * password among the first factors, MFA OPTIONAL (Cognito offers no passwordless first factor
 * when it is ON) and the sign-in trigger before and after authentication.
 */
export function breakGlassPoolCheck(pool: UserPoolType): Check {
  const name = 'break-glass sign-in';
  const factors = pool.Policies?.SignInPolicy?.AllowedFirstAuthFactors ?? [];
  const problems: string[] = [];
  if (pool.UserPoolTier !== 'ESSENTIALS' && pool.UserPoolTier !== 'PLUS')
    problems.push(`feature plan ${pool.UserPoolTier ?? 'LITE'} (choice-based sign-in needs Essentials)`);
  if (!factors.includes('PASSWORD')) problems.push('password is no first factor (the break-glass admins sign in with it)');
  if (pool.MfaConfiguration !== 'OPTIONAL') problems.push(`MFA ${pool.MfaConfiguration ?? 'OFF'}, not OPTIONAL`);
  if (!pool.LambdaConfig?.PreAuthentication || !pool.LambdaConfig?.PostAuthentication)
    problems.push('no sign-in trigger before and after authentication: codes would not follow the flag, sign-ins not be audited');
  if (problems.length > 0)
    return fail('cognito', name, problems.join('; '), 'deploy the current version of shadowmail (npx cdk deploy --all)');
  return ok('cognito', name, `first factors ${factors.join(', ')}; MFA optional, TOTP for admins (trigger-enforced); sign-in trigger set`);
}

/**
 * The staff codes' SMS: with SMS_OTP a first factor the pool needs an SMS role and must not
 * report SmsConfigurationFailure (e.g. SNS still in the SMS sandbox, which delivers only to
 * verified numbers: https://docs.aws.amazon.com/sns/latest/dg/sns-sms-sandbox.html).
 */
export function breakGlassSmsCheck(pool: UserPoolType): Check {
  const name = 'SMS for sign-in codes';
  const factors = pool.Policies?.SignInPolicy?.AllowedFirstAuthFactors ?? [];
  if (!factors.includes('SMS_OTP')) return ok('cognito', name, 'staff sign-in by SMS code is off (breakGlass.staffSmsCodes)');
  const sms = pool.SmsConfiguration;
  if (!sms?.SnsCallerArn)
    return fail('cognito', name, 'SMS codes are a first factor, but the pool has no SMS role', 'deploy the current version of shadowmail');
  if (pool.SmsConfigurationFailure) {
    return fail(
      'cognito',
      name,
      `Cognito cannot send SMS: ${pool.SmsConfigurationFailure}`,
      `move Amazon SNS SMS in ${sms.SnsRegion ?? 'the pool region'} out of the sandbox and set a spend limit (docs/deploy.md 7.4)`,
    );
  }
  return ok('cognito', name, `through SNS in ${sms.SnsRegion ?? 'the pool region'} with role ${sms.SnsCallerArn}`);
}

/** One break-glass admin: exists in the pool, enabled, confirmed, and TOTP set up (else the trigger refuses them). */
export function breakGlassAdminCheck(username: string, user: AdminGetUserCommandOutput | null): Check {
  const name = `break-glass admin ${username}`;
  const setup = `shadowmail breakglass admin-setup ${username} --stack <id> (docs/deploy.md 7.6)`;
  if (!user) return fail('cognito', name, 'no such account in the user pool: this admin cannot sign in with AD FS down', setup);
  if (user.Enabled === false)
    return fail('cognito', name, 'the account is disabled', `aws cognito-idp admin-enable-user --username ${username} …`);
  if (!(user.UserMFASettingList ?? []).includes('SOFTWARE_TOKEN_MFA'))
    return fail('cognito', name, `${user.UserStatus ?? 'unknown status'}, but no TOTP: the sign-in trigger refuses the account`, setup);
  if (user.UserStatus !== 'CONFIRMED')
    return fail('cognito', name, `status ${user.UserStatus ?? 'unknown'}: the password is not set`, setup);
  return ok('cognito', name, 'enabled, password and TOTP set up');
}

/** Usernames of the BreakGlassAdmins output (comma-separated); none when the stack has none configured. */
export function breakGlassAdmins(output: string | undefined): string[] {
  return (output ?? '')
    .split(',')
    .map((name) => name.trim())
    .filter(Boolean);
}

async function breakGlassChecks(client: CognitoIdentityProviderClient, userPoolId: string, admins: string[]): Promise<Check[]> {
  const checks: Check[] = [];
  try {
    const { UserPool: pool } = await client.send(new DescribeUserPoolCommand({ UserPoolId: userPoolId }));
    checks.push(breakGlassPoolCheck(pool ?? {}), breakGlassSmsCheck(pool ?? {}));
  } catch (error) {
    checks.push(callFailed('cognito', 'break-glass sign-in', 'cognito-idp:DescribeUserPool', error));
  }
  for (const username of admins) {
    try {
      checks.push(
        breakGlassAdminCheck(username, await client.send(new AdminGetUserCommand({ UserPoolId: userPoolId, Username: username }))),
      );
    } catch (error) {
      checks.push(
        (error as { name?: string }).name === 'UserNotFoundException'
          ? breakGlassAdminCheck(username, null)
          : callFailed('cognito', `break-glass admin ${username}`, 'cognito-idp:AdminGetUser', error),
      );
    }
  }
  return checks;
}

export async function cognitoChecks(ctx: DoctorContext): Promise<Check[]> {
  const userPoolId = ctx.outputs.get('userPoolId');
  const baseUrl = ctx.outputs.get('cognitoDomain');
  const providerName = ctx.outputs.get('identityProviderName');
  if (!userPoolId) return [missingOutput('cognito', 'user pool', 'userPoolId')];
  const client = new CognitoIdentityProviderClient(cliAwsConfig(ctx.region));
  const checks: Check[] = [];
  try {
    if (!baseUrl) checks.push(missingOutput('cognito', 'sign-in domain', 'cognitoDomain'));
    else {
      try {
        const { DomainDescription: domain } = await client.send(new DescribeUserPoolDomainCommand({ Domain: cognitoDomainName(baseUrl) }));
        const answer =
          domain?.Status === 'ACTIVE' ? await httpGet(`${baseUrl.replace(/\/+$/, '')}/oauth2/authorize`, 'manual') : { error: 'not asked' };
        checks.push(hostedDomainCheck(baseUrl, userPoolId, domain, answer));
      } catch (error) {
        checks.push(callFailed('cognito', `sign-in domain ${baseUrl}`, 'cognito-idp:DescribeUserPoolDomain', error));
      }
    }
    if (!providerName) checks.push(missingOutput('cognito', 'identity provider', 'identityProviderName'));
    else {
      try {
        const { IdentityProvider: provider } = await client.send(
          new DescribeIdentityProviderCommand({ UserPoolId: userPoolId, ProviderName: providerName }),
        );
        const url =
          provider?.ProviderType === 'SAML'
            ? provider.ProviderDetails?.MetadataURL
            : provider?.ProviderDetails?.oidc_issuer && discoveryUrl(provider.ProviderDetails.oidc_issuer);
        checks.push(identityProviderCheck(provider ?? null, providerName, url ? await httpGet(url) : null));
      } catch (error) {
        checks.push(
          (error as { name?: string }).name === 'ResourceNotFoundException'
            ? identityProviderCheck(null, providerName, null)
            : callFailed('cognito', `identity provider ${providerName}`, 'cognito-idp:DescribeIdentityProvider', error),
        );
      }
    }
    checks.push(...(await breakGlassChecks(client, userPoolId, breakGlassAdmins(ctx.outputs.get('breakGlassAdmins')))));
    return checks;
  } finally {
    client.destroy();
  }
}

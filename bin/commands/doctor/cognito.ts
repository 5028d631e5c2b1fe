// doctor, Cognito: the hosted sign-in domain is ACTIVE and answers over HTTPS, and the
// user pool's identity provider is configured and its metadata (SAML: MetadataURL) or
// issuer (OIDC: <oidc_issuer>/.well-known/openid-configuration) answers. Cognito
// fetches the SAML metadata from the internet; doctor fetches it from where it runs, so
// run it from outside the company network to see what Cognito sees.
import {
  CognitoIdentityProviderClient,
  DescribeIdentityProviderCommand,
  DescribeUserPoolDomainCommand,
  type DomainDescriptionType,
  type IdentityProviderType,
} from '@aws-sdk/client-cognito-identity-provider';
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

export async function cognitoChecks(ctx: DoctorContext): Promise<Check[]> {
  const userPoolId = ctx.outputs.get('userPoolId');
  const baseUrl = ctx.outputs.get('cognitoDomain');
  const providerName = ctx.outputs.get('identityProviderName');
  if (!userPoolId) return [missingOutput('cognito', 'user pool', 'userPoolId')];
  const client = new CognitoIdentityProviderClient({ region: ctx.region });
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
    return checks;
  } finally {
    client.destroy();
  }
}

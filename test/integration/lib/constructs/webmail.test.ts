// The webmail construct as CloudFormation: the failover parameter (its initial value
// parses as the flag), the session secret, the Cognito user pool with its one IdP (SAML
// metadata by URL or file, or OIDC), the hosted-UI domain and the PKCE client, the HTTP
// API with its $default route, logging and throttling, an optional own host name, the
// function's environment (validated by the function's own schema) and its exact
// grants, the outputs, and cdk-nag AwsSolutions over a stateful-like and a stateless
// stack. Bundling is skipped (`aws:cdk:bundling-stacks: []`).
import { mkdtempSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENV, parseQueueUrls, SIGN_IN_TRIGGER_ENV, WEB_ENV } from '../../../../lambdas/contract/environment.ts';
import { MESSAGE_TABLE } from '../../../../lambdas/contract/message-table.ts';
import { FORWARD_LIMITS } from '../../../../lambdas/contract/pipeline-limits.ts';
import { RAW_MAIL_PREFIX } from '../../../../lambdas/contract/raw-mail-bucket.ts';
import { parseFailoverState } from '../../../../lambdas/core/failover.ts';
import { readAwsSignInTriggerEnv, readAwsWebEnv } from '../../../../lambdas/wiring/env.ts';
import { parseConfig, ShadowmailConfigError, type ShadowmailConfigInput } from '../../../../lib/config.ts';
import { MessageIndex } from '../../../../lib/constructs/message-index.ts';
import { RawMailBucket } from '../../../../lib/constructs/raw-mail-bucket.ts';
import { SIGN_IN_TRIGGER_LIMITS } from '../../../../lib/constructs/sign-in-trigger.ts';
import { TABLE_ACCESS } from '../../../../lib/constructs/table-access.ts';
import { WEBMAIL_LIMITS, Webmail } from '../../../../lib/constructs/webmail.ts';
import { WorkQueue } from '../../../../lib/constructs/work-queue.ts';
import { DEFAULT_RATE_LIMITS, ROUTE_KEYS } from '../../../../lib/webmail-rate-limits.ts';
import type { CfnResource } from '../../../support/cfn-resource.ts';

const ROOT = resolve(import.meta.dirname, '../../../..');
const cdkJson = JSON.parse(readFileSync(join(ROOT, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> };
const EXAMPLE = cdkJson.context.shadowmail as ShadowmailConfigInput;
const ENVIRONMENT = { account: '123456789012', region: 'eu-west-1' };
const METADATA_FIXTURE = 'test/fixtures/saml/adfs-federation-metadata.xml';
const ENTRA_SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:shadowmail/entra-client-AbCdEf';
const ENTRA = {
  type: 'oidc',
  name: 'EntraID',
  issuer: 'https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000/v2.0',
  clientId: '11111111-1111-1111-1111-111111111111',
  clientSecretArn: ENTRA_SECRET_ARN,
} as const;
const CUSTOM_DOMAIN = {
  domainName: 'webmail.corp.example',
  certificateArn: 'arn:aws:acm:eu-west-1:123456789012:certificate/12345678-1234-1234-1234-123456789012',
};

const outRoot = mkdtempSync(join(tmpdir(), 'shadowmail-webmail-cdk-'));
afterAll(async () => {
  await rm(outRoot, { recursive: true, force: true });
});

type ValidationReport = {
  pluginReports: Array<{ violations: Array<{ ruleName: string; violatingConstructs: Array<{ constructPath: string }> }> }>;
};
type Resource = CfnResource;

/**
 * A stateful-like stack (the real bucket, table and queue constructs) and a stateless
 * one holding only the webmail, with the AWS Solutions checks on the app.
 */
interface BuildOptions {
  env?: boolean;
  cwd?: string;
  /** Where the cloud assembly (and cdk-nag's validation-report.json) goes. */
  outdir?: string;
  /** Adds to the stateless stack before the first synth (a synthesized app cannot change). */
  extend?: (stack: Stack, webmail: Webmail, rawMail: RawMailBucket) => void;
}

function build(overrides: Partial<ShadowmailConfigInput> = {}, options: BuildOptions = {}) {
  const app = new App({
    outdir: options.outdir ?? mkdtempSync(join(outRoot, 'app-')),
    context: { ...cdkJson.context, 'aws:cdk:bundling-stacks': [] },
  });
  const config = parseConfig({ ...EXAMPLE, ...overrides });
  const env = options.env === false ? undefined : ENVIRONMENT;
  const statefulStack = new Stack(app, 'Stateful', { env });
  const rawMail = new RawMailBucket(statefulStack, 'RawMail', {
    retentionDays: config.retentionDays,
    keyAlias: 'alias/test/mail',
    rawPrefix: RAW_MAIL_PREFIX,
  });
  const index = new MessageIndex(statefulStack, 'MessageIndex');
  const resend = new WorkQueue(statefulStack, 'ResendQueue', { consumer: FORWARD_LIMITS });
  const stack = new Stack(app, 'Stateless', { env });
  const webmail = new Webmail(stack, 'Webmail', {
    config,
    table: index.table,
    rawBucket: rawMail.bucket,
    rawKey: rawMail.key,
    mailObjectsPolicy: rawMail.webmailPolicy,
    resendQueue: resend.queue,
    sesIdentityArns: config.domains.map((domain) => stack.formatArn({ service: 'ses', resource: 'identity', resourceName: domain })),
    sesConfigurationSet: {
      name: 'test-webmail',
      arn: stack.formatArn({ service: 'ses', resource: 'configuration-set', resourceName: 'test-webmail' }),
    },
    cwd: options.cwd ?? ROOT,
  });
  options.extend?.(stack, webmail, rawMail);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  const template = Template.fromStack(stack);
  // After synth the stateless stack spells a stateful resource as CloudFormation will.
  const crossStack = (token: string): unknown => stack.resolve(token);
  return { app, stack, webmail, template, crossStack, stateful: { rawMail, index, resend } };
}

function entries(template: Template, type: string): Array<[string, Resource]> {
  return Object.entries(template.findResources(type) as Record<string, Resource>);
}

/** The one resource of `type` whose logical id starts with `prefix`. */
function entry(template: Template, type: string, prefix: string): [string, Resource] {
  const matches = entries(template, type).filter(([id]) => id.startsWith(prefix));
  expect(
    matches.map(([id]) => id),
    `${type} ${prefix}`,
  ).toHaveLength(1);
  return matches[0]!;
}
const idOf = (template: Template, type: string, prefix: string): string => entry(template, type, prefix)[0];
const only = (template: Template, type: string, prefix: string): Resource => entry(template, type, prefix)[1];

let saml: ReturnType<typeof build>;
beforeAll(() => {
  saml = build();
});

describe('failover flag and session secret', () => {
  it('creates /<stackId>/failover as a String holding normal operation in the format the flag adapter reads', () => {
    // Act
    const parameter = only(saml.template, 'AWS::SSM::Parameter', 'WebmailFailoverFlag');
    const state = parseFailoverState(JSON.parse(parameter.Properties.Value));

    // Assess
    expect(state).toEqual({ on: false, since: null, message: '', changedBy: null, reason: null });
    // Pinned on purpose: any change here makes CloudFormation rewrite the value and
    // switch off a failover an admin has switched on (see the construct).
    expect(parameter.Properties).toEqual({
      Name: '/shadowmail-example/failover',
      Type: 'String',
      Value: '{"on":false}',
      Description: 'shadowmail failover flag: when on, staff sign in to the webmail',
      Tier: 'Standard',
    });
  });

  it('generates a session key of 64 letters and digits as a plain string secret', () => {
    // Act
    const secret = only(saml.template, 'AWS::SecretsManager::Secret', 'WebmailSessionSecret');

    // Assess
    expect(secret.Properties.GenerateSecretString).toEqual({ PasswordLength: 64, ExcludePunctuation: true, IncludeSpace: false });
    expect(secret.Properties.GenerateSecretString.PasswordLength).toBeGreaterThanOrEqual(48);
    expect(secret.Properties.SecretString).toBeUndefined();
  });
});

describe('user pool', () => {
  it('admits no sign-up, requires an updatable email, strict passwords and TOTP as the only second factor, retained', () => {
    // Act
    const pool = only(saml.template, 'AWS::Cognito::UserPool', 'WebmailUserPool');

    // Assess
    expect(pool.DeletionPolicy).toBe('Retain');
    expect(pool.UpdateReplacePolicy).toBe('Retain');
    expect(pool.Properties).toMatchObject({
      AdminCreateUserConfig: { AllowAdminCreateUserOnly: true },
      // directory_id: the IdP's objectGUID, when mapped (deploy.md §7.5).
      Schema: [
        { Name: 'email', Required: true, Mutable: true },
        {
          Name: 'directory_id',
          AttributeDataType: 'String',
          Mutable: true,
          StringAttributeConstraints: { MinLength: '1', MaxLength: '256' },
        },
      ],
      AccountRecoverySetting: { RecoveryMechanisms: [{ Name: 'admin_only', Priority: 1 }] },
      DeletionProtection: 'ACTIVE',
      // OPTIONAL: passwordless first factors need it; the trigger keeps the admins' TOTP mandatory.
      MfaConfiguration: 'OPTIONAL',
      EnabledMfas: ['SOFTWARE_TOKEN_MFA'],
      Policies: {
        PasswordPolicy: { MinimumLength: 14, RequireLowercase: true, RequireUppercase: true, RequireNumbers: true, RequireSymbols: true },
      },
      UserPoolTier: 'ESSENTIALS',
      UsernameConfiguration: { CaseSensitive: false },
    });
  });

  it('gets the hosted-UI domain prefix and the admin group of the configuration', () => {
    // Act
    const poolId = idOf(saml.template, 'AWS::Cognito::UserPool', 'WebmailUserPool');

    // Assess
    saml.template.resourceCountIs('AWS::Cognito::UserPoolDomain', 1);
    saml.template.hasResourceProperties('AWS::Cognito::UserPoolDomain', { Domain: 'example-com-shadowmail', UserPoolId: { Ref: poolId } });
    expect(saml.template.findResources('AWS::Cognito::UserPoolDomain')).not.toHaveProperty('CustomDomainConfig');
    saml.template.hasResourceProperties('AWS::Cognito::UserPoolGroup', { GroupName: 'shadowmail-admins', UserPoolId: { Ref: poolId } });
  });

  it('federates to AD FS by metadata URL, mapping the e-mail claim', () => {
    // Act
    const idp = only(saml.template, 'AWS::Cognito::UserPoolIdentityProvider', 'WebmailIdentityProvider');

    // Assess
    expect(idp.Properties).toEqual({
      UserPoolId: { Ref: idOf(saml.template, 'AWS::Cognito::UserPool', 'WebmailUserPool') },
      ProviderName: 'ADFS',
      ProviderType: 'SAML',
      ProviderDetails: { MetadataURL: 'https://adfs.example.com/FederationMetadata/2007-06/FederationMetadata.xml', IDPSignout: false },
      AttributeMapping: { email: 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress' },
    });
  });

  it('federates to AD FS by a metadata file read relative to the working directory, mapping objectGUID when configured', () => {
    // Prepare
    const metadata = readFileSync(join(ROOT, METADATA_FIXTURE), 'utf8');

    // Act
    const { template } = build(
      {
        identityProvider: {
          type: 'saml',
          name: 'CorpADFS',
          metadataFile: METADATA_FIXTURE,
          emailAttribute: 'mail',
          directoryIdAttribute: 'objectGUID',
        },
      },
      { cwd: ROOT },
    );

    // Assess
    const idp = only(template, 'AWS::Cognito::UserPoolIdentityProvider', 'WebmailIdentityProvider');
    expect(idp.Properties).toMatchObject({
      ProviderName: 'CorpADFS',
      ProviderType: 'SAML',
      ProviderDetails: { MetadataFile: metadata },
      AttributeMapping: { email: 'mail', 'custom:directory_id': 'objectGUID' },
    });
    expect(idp.Properties.ProviderDetails.MetadataURL).toBeUndefined();
  });

  it('stops synth naming the key when the metadata file is missing or is no SAML metadata', async () => {
    // Prepare
    const dir = await mkdtemp(join(outRoot, 'saml-'));
    await mkdir(join(dir, 'adfs'));
    await writeFile(join(dir, 'adfs/login-page.html'), '<html><body>AD FS sign-in</body></html>');
    const withFile = (metadataFile: string) => () => build({ identityProvider: { type: 'saml', metadataFile } }, { cwd: dir });

    // Act
    const missing = withFile('adfs/FederationMetadata.xml');
    const notMetadata = withFile('adfs/login-page.html');

    // Assess
    expect(missing).toThrow(ShadowmailConfigError);
    expect(missing).toThrow(/^shadowmail\.identityProvider\.metadataFile: cannot read adfs\/FederationMetadata\.xml/);
    expect(notMetadata).toThrow(/^shadowmail\.identityProvider\.metadataFile: adfs\/login-page\.html is not SAML metadata/);
  });

  it('federates to Entra ID by OIDC with the client secret as a dynamic reference, never its value', () => {
    // Act
    const { template } = build({ identityProvider: { ...ENTRA, emailClaim: 'upn', directoryIdClaim: 'onprem_objectguid' } });

    // Assess
    const idp = only(template, 'AWS::Cognito::UserPoolIdentityProvider', 'WebmailIdentityProvider');
    expect(idp.Properties).toEqual({
      UserPoolId: { Ref: idOf(template, 'AWS::Cognito::UserPool', 'WebmailUserPool') },
      ProviderName: 'EntraID',
      ProviderType: 'OIDC',
      ProviderDetails: {
        client_id: ENTRA.clientId,
        client_secret: `{{resolve:secretsmanager:${ENTRA_SECRET_ARN}:SecretString:::}}`,
        authorize_scopes: 'openid email profile',
        oidc_issuer: ENTRA.issuer,
        attributes_request_method: 'GET',
      },
      AttributeMapping: { email: 'upn', 'custom:directory_id': 'onprem_objectguid' },
    });
  });
});

describe('app client', () => {
  it('is a public client for the code flow with PKCE: no secret, USER_AUTH as the only sign-in flow, the IdP beside COGNITO, callbacks on the API', () => {
    // Act
    const client = only(saml.template, 'AWS::Cognito::UserPoolClient', 'WebmailUserPoolWebmailClient');

    // Assess
    const apiId = idOf(saml.template, 'AWS::ApiGatewayV2::Api', 'WebmailApi');
    const endpoint = { 'Fn::GetAtt': [apiId, 'ApiEndpoint'] };
    expect(client.Properties).toMatchObject({
      UserPoolId: { Ref: idOf(saml.template, 'AWS::Cognito::UserPool', 'WebmailUserPool') },
      GenerateSecret: false,
      // Choice-based sign-in (SMS code, passkey, password + TOTP) and nothing else.
      ExplicitAuthFlows: ['ALLOW_USER_AUTH', 'ALLOW_REFRESH_TOKEN_AUTH'],
      AllowedOAuthFlowsUserPoolClient: true,
      AllowedOAuthFlows: ['code'],
      AllowedOAuthScopes: ['openid', 'email', 'profile'],
      CallbackURLs: [{ 'Fn::Join': ['', [endpoint, '/auth/callback']] }],
      LogoutURLs: [{ 'Fn::Join': ['', [endpoint, '/']] }],
      // A Ref, so CloudFormation creates the provider before the client that names it.
      SupportedIdentityProviders: [
        'COGNITO',
        { Ref: idOf(saml.template, 'AWS::Cognito::UserPoolIdentityProvider', 'WebmailIdentityProvider') },
      ],
      PreventUserExistenceErrors: 'ENABLED',
      EnableTokenRevocation: true,
      IdTokenValidity: 15,
      AccessTokenValidity: 15,
      RefreshTokenValidity: 60,
      TokenValidityUnits: { IdToken: 'minutes', AccessToken: 'minutes', RefreshToken: 'minutes' },
    });
    expect(client.Properties.ExplicitAuthFlows).not.toContain('ALLOW_USER_PASSWORD_AUTH');
    expect(client.Properties.ExplicitAuthFlows).not.toContain('ALLOW_USER_SRP_AUTH');
  });
});

describe('HTTP API', () => {
  it('sends every request on the $default route to the function with payload 2.0, no authorizer', () => {
    // Act
    const apiId = idOf(saml.template, 'AWS::ApiGatewayV2::Api', 'WebmailApi');
    const [integrationId, integration] = entry(saml.template, 'AWS::ApiGatewayV2::Integration', 'WebmailDefaultRoute');
    const routes = entries(saml.template, 'AWS::ApiGatewayV2::Route');
    const functionId = idOf(saml.template, 'AWS::Lambda::Function', 'WebmailFunction');

    // Assess
    saml.template.hasResourceProperties('AWS::ApiGatewayV2::Api', { ProtocolType: 'HTTP', DisableExecuteApiEndpoint: false });
    expect(integration.Properties).toMatchObject({
      ApiId: { Ref: apiId },
      IntegrationType: 'AWS_PROXY',
      IntegrationUri: { 'Fn::GetAtt': [functionId, 'Arn'] },
      PayloadFormatVersion: '2.0',
    });
    // $default and the routes that only exist for their own throttle: all to the one integration.
    const limitedKeys = Object.values(ROUTE_KEYS).flat();
    expect(routes.map(([, route]) => route.Properties)).toEqual(
      ['$default', ...limitedKeys].map((RouteKey) => ({
        ApiId: { Ref: apiId },
        RouteKey,
        AuthorizationType: 'NONE',
        Target: { 'Fn::Join': ['', ['integrations/', { Ref: integrationId }]] },
      })),
    );
    saml.template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      FunctionName: { 'Fn::GetAtt': [functionId, 'Arn'] },
      Principal: 'apigateway.amazonaws.com',
      SourceArn: { 'Fn::Join': ['', [Match.stringLikeRegexp('^arn:aws:execute-api:eu-west-1:123456789012:$'), { Ref: apiId }, '/*/*']] },
    });
  });

  it('deploys one auto-deployed $default stage with throttling and JSON access logs without query strings', () => {
    // Act
    const stages = entries(saml.template, 'AWS::ApiGatewayV2::Stage');
    const logGroupId = idOf(saml.template, 'AWS::Logs::LogGroup', 'WebmailAccessLogs');

    // Assess
    expect(stages).toHaveLength(1);
    const stage = stages[0]![1].Properties;
    expect(stage).toMatchObject({
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: {
        ThrottlingRateLimit: DEFAULT_RATE_LIMITS.read.ratePerSecond,
        ThrottlingBurstLimit: DEFAULT_RATE_LIMITS.read.burst,
      },
      AccessLogSettings: { DestinationArn: { 'Fn::GetAtt': [logGroupId, 'Arn'] } },
    });
    const format = JSON.parse(stage.AccessLogSettings.Format) as Record<string, string>;
    expect(format).toMatchObject({
      requestId: '$context.requestId',
      ip: '$context.identity.sourceIp',
      path: '$context.path',
      status: '$context.status',
    });
    // The OAuth code arrives in /auth/callback's query string: it must not reach the logs.
    expect(stage.AccessLogSettings.Format).not.toMatch(/querystring|routeKey|\$request\.|\$context\.requestOverride/i);
    expect(only(saml.template, 'AWS::Logs::LogGroup', 'WebmailAccessLogs').Properties.RetentionInDays).toBe(30);
  });

  it('throttles sign-in, send, attach, admin and /declare each on its own route budget, below the read budget of $default', () => {
    // Act
    const [, stage] = entry(saml.template, 'AWS::ApiGatewayV2::Stage', 'WebmailApiDefaultStage');
    const routeIds = Object.fromEntries(
      entries(saml.template, 'AWS::ApiGatewayV2::Route').map(([id, route]) => [route.Properties.RouteKey as string, id]),
    );

    // Assess
    const expected: Record<string, unknown> = {};
    for (const [group, keys] of Object.entries(ROUTE_KEYS) as [keyof typeof ROUTE_KEYS, string[]][]) {
      const limit = DEFAULT_RATE_LIMITS[group];
      expect(limit.ratePerSecond, group).toBeLessThan(DEFAULT_RATE_LIMITS.read.ratePerSecond);
      for (const key of keys) expected[key] = { ThrottlingRateLimit: limit.ratePerSecond, ThrottlingBurstLimit: limit.burst };
    }
    expect(stage.Properties.RouteSettings).toEqual(expected);
    expect(Object.keys(expected)).toEqual(
      expect.arrayContaining(['GET /auth/login', 'GET /auth/callback', 'POST /mail/send', 'ANY /declare']),
    );
    // CloudFormation refuses route settings for a route key that does not exist yet.
    for (const key of Object.keys(expected)) expect(stage.DependsOn, key).toContain(routeIds[key]);
  });

  it('takes the limits from webmail.rateLimits and refuses limits API Gateway would not take, naming the key', () => {
    // Act
    const { template } = build({
      webmail: {
        cognitoDomainPrefix: 'corp-shadowmail',
        rateLimits: { read: { ratePerSecond: 50, burst: 80 }, send: { ratePerSecond: 0.5, burst: 2 } },
      },
    });
    const stage = only(template, 'AWS::ApiGatewayV2::Stage', 'WebmailApiDefaultStage').Properties;

    // Assess
    expect(stage.DefaultRouteSettings).toMatchObject({ ThrottlingRateLimit: 50, ThrottlingBurstLimit: 80 });
    expect(stage.RouteSettings['POST /mail/send']).toEqual({ ThrottlingRateLimit: 0.5, ThrottlingBurstLimit: 2 });
    expect(stage.RouteSettings['GET /auth/login']).toEqual({
      ThrottlingRateLimit: DEFAULT_RATE_LIMITS.signIn.ratePerSecond,
      ThrottlingBurstLimit: DEFAULT_RATE_LIMITS.signIn.burst,
    });
    const parse = (rateLimits: unknown) => () => parseConfig({ ...EXAMPLE, webmail: { cognitoDomainPrefix: 'x', rateLimits } });
    expect(parse({ signIn: { ratePerSecond: 0, burst: 5 } })).toThrow(
      /shadowmail\.webmail\.rateLimits\.signIn\.ratePerSecond: more than 0/,
    );
    expect(parse({ read: { ratePerSecond: 100, burst: 6000 } })).toThrow(/rateLimits\.read\.burst: at most 5000/);
    expect(parse({ search: { ratePerSecond: 1, burst: 1 } })).toThrow(/rateLimits\.search: is not a known setting/);
    expect(
      parseConfig({ ...EXAMPLE, webmail: { cognitoDomainPrefix: 'x', rateLimits: { send: { ratePerSecond: 1 } } } }).webmail.rateLimits
        .send,
    ).toEqual({
      ratePerSecond: 1,
      burst: DEFAULT_RATE_LIMITS.send.burst,
    });
  });

  it('serves an own host name when configured: domain, mapping, no execute-api URL, callbacks and public URL on that name', () => {
    // Act
    const { template, webmail } = build({ webmail: { cognitoDomainPrefix: 'corp-shadowmail', customDomain: CUSTOM_DOMAIN } });

    // Assess
    const [domainId, domain] = entry(template, 'AWS::ApiGatewayV2::DomainName', 'WebmailCustomDomain');
    expect(domain.Properties).toEqual({
      DomainName: 'webmail.corp.example',
      DomainNameConfigurations: [{ CertificateArn: CUSTOM_DOMAIN.certificateArn, EndpointType: 'REGIONAL', SecurityPolicy: 'TLS_1_2' }],
    });
    template.hasResourceProperties('AWS::ApiGatewayV2::ApiMapping', {
      ApiId: { Ref: idOf(template, 'AWS::ApiGatewayV2::Api', 'WebmailApi') },
      DomainName: { Ref: domainId },
      Stage: '$default',
    });
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', { DisableExecuteApiEndpoint: true });
    template.hasResourceProperties('AWS::Cognito::UserPoolClient', {
      CallbackURLs: ['https://webmail.corp.example/auth/callback'],
      LogoutURLs: ['https://webmail.corp.example/'],
    });
    expect(webmail.publicUrl).toBe('https://webmail.corp.example');
    expect(only(template, 'AWS::Lambda::Function', 'WebmailFunction').Properties.Environment.Variables[WEB_ENV.publicUrl]).toBe(
      'https://webmail.corp.example',
    );
    template.hasOutput('WebmailUrl', { Value: 'https://webmail.corp.example/' });
    template.hasOutput('WebmailDomainTarget', { Value: { 'Fn::GetAtt': [domainId, 'RegionalDomainName'] } });
  });
});

describe('webmail function', () => {
  it('runs the webmail handler on Node 22 / arm64 with 1024 MB and 29 s, inside the API timeout', () => {
    // Act
    const fn = only(saml.template, 'AWS::Lambda::Function', 'WebmailFunction');

    // Assess
    expect(fn.Properties).toMatchObject({
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
      MemorySize: 1024,
      Timeout: 29,
      Role: { 'Fn::GetAtt': [idOf(saml.template, 'AWS::IAM::Role', 'WebmailFunctionRole'), 'Arn'] },
    });
    expect(WEBMAIL_LIMITS.timeout.toSeconds()).toBeLessThan(30);
    // the bucket's object grants arrive with the role (a managed policy of the stateful stack)
    expect(only(saml.template, 'AWS::IAM::Role', 'WebmailFunctionRole').Properties.ManagedPolicyArns).toHaveLength(1);
  });

  it('sets the webmail environment from its resources, and the values pass the function own validation', () => {
    // Prepare
    const { template, crossStack, stateful } = saml;
    const vars = only(template, 'AWS::Lambda::Function', 'WebmailFunction').Properties.Environment.Variables as Record<string, unknown>;
    const ref = (type: string, prefix: string) => ({ Ref: idOf(template, type, prefix) });
    // What CloudFormation fills in at deploy time, one stand-in per resource.
    const physical = new Map<string, string>([
      [JSON.stringify(ref('AWS::SSM::Parameter', 'WebmailFailoverFlag')), '/shadowmail-example/failover'],
      [JSON.stringify(ref('AWS::Cognito::UserPool', 'WebmailUserPool')), 'eu-west-1_AbCdEf123'],
      [JSON.stringify(ref('AWS::Cognito::UserPoolClient', 'WebmailUserPoolWebmailClient')), '1example23456789abcdefghij'],
      [JSON.stringify(ref('AWS::Cognito::UserPoolDomain', 'WebmailUserPoolDomain')), 'example-com-shadowmail'],
      [
        JSON.stringify(ref('AWS::SecretsManager::Secret', 'WebmailSessionSecret')),
        'arn:aws:secretsmanager:eu-west-1:123456789012:secret:WebmailSession-AbCdEf',
      ],
      [
        JSON.stringify({ 'Fn::GetAtt': [idOf(template, 'AWS::ApiGatewayV2::Api', 'WebmailApi'), 'ApiEndpoint'] }),
        'https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com',
      ],
      [JSON.stringify(crossStack(stateful.index.table.tableName)), 'Stateful-MessageIndexTable-ABC123'],
      [JSON.stringify(crossStack(stateful.rawMail.bucket.bucketName)), 'stateful-rawmailbucket-abc123'],
      [
        JSON.stringify(crossStack(stateful.resend.queue.queueUrl)),
        'https://sqs.eu-west-1.amazonaws.com/123456789012/Stateful-ResendQueue-ABC',
      ],
    ]);
    const evaluate = (value: unknown): string => {
      if (typeof value === 'string') return value;
      const known = physical.get(JSON.stringify(value));
      if (known !== undefined) return known;
      const join = (value as { 'Fn::Join'?: [string, unknown[]] })['Fn::Join'];
      if (join) return join[1].map(evaluate).join(join[0]);
      throw new Error(`no stand-in for ${JSON.stringify(value)}`);
    };

    // Act
    const runtime = Object.fromEntries(Object.entries(vars).map(([name, value]) => [name, evaluate(value)]));
    const env = readAwsWebEnv(runtime);

    // Assess
    expect(Object.keys(vars).sort()).toEqual(
      [
        ENV.tableName,
        ENV.retentionDays,
        ENV.stackId,
        ENV.resendQueueUrl,
        WEB_ENV.failoverParameter,
        WEB_ENV.userPoolId,
        WEB_ENV.userPoolClientId,
        WEB_ENV.cognitoDomain,
        WEB_ENV.publicUrl,
        WEB_ENV.sessionSecretArn,
        WEB_ENV.adminGroup,
        WEB_ENV.timeZone,
        WEB_ENV.rawBucket,
        WEB_ENV.sesConfigurationSet,
        WEB_ENV.breakGlassAdmins,
        WEB_ENV.noticeChannels,
        WEB_ENV.noticeSender,
        WEB_ENV.sendMessagesPerHour,
        WEB_ENV.sendRecipientsPerHour,
        WEB_ENV.sendMessagesPerDay,
        WEB_ENV.sendRecipientsPerDay,
        'NODE_OPTIONS',
      ].sort(),
    );
    // A public client: the webmail must not look for a client secret.
    expect(vars[WEB_ENV.userPoolClientSecretArn]).toBeUndefined();
    expect(env).toMatchObject({
      [WEB_ENV.failoverParameter]: '/shadowmail-example/failover',
      [WEB_ENV.userPoolId]: 'eu-west-1_AbCdEf123',
      [WEB_ENV.userPoolClientId]: '1example23456789abcdefghij',
      [WEB_ENV.cognitoDomain]: 'https://example-com-shadowmail.auth.eu-west-1.amazoncognito.com',
      [WEB_ENV.publicUrl]: 'https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com',
      [WEB_ENV.sessionSecretArn]: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:WebmailSession-AbCdEf',
      [WEB_ENV.adminGroup]: 'shadowmail-admins',
      [WEB_ENV.timeZone]: 'Europe/Berlin',
      [WEB_ENV.rawBucket]: 'stateful-rawmailbucket-abc123',
      [WEB_ENV.sesConfigurationSet]: 'test-webmail',
      [WEB_ENV.noticeChannels]: { sms: false, email: false },
      [WEB_ENV.noticeSender]: 'noreply@example.com',
      [ENV.tableName]: 'Stateful-MessageIndexTable-ABC123',
      [ENV.retentionDays]: 28,
    });
    expect(runtime[ENV.stackId]).toBe('shadowmail-example');
    expect(runtime[ENV.resendQueueUrl]).toBe('https://sqs.eu-west-1.amazonaws.com/123456789012/Stateful-ResendQueue-ABC');
  });

  it('grants exactly the calls of its adapters, on exactly its resources', () => {
    // Prepare
    const { template, crossStack, stateful } = saml;
    const defaultPolicy = only(template, 'AWS::IAM::Policy', 'WebmailFunctionRoleDefaultPolicy');
    const statefulTemplate = Template.fromStack(Stack.of(stateful.rawMail));
    const objectsPolicy = only(statefulTemplate, 'AWS::IAM::ManagedPolicy', 'RawMailWebmailPolicy');
    const bucketId = idOf(statefulTemplate, 'AWS::S3::Bucket', 'RawMailBucket');
    const bucketArn = { 'Fn::GetAtt': [bucketId, 'Arn'] };
    const objects = (prefix: string) => ({ 'Fn::Join': ['', [bucketArn, `/${prefix}*`]] });
    const roleId = idOf(template, 'AWS::IAM::Role', 'WebmailFunctionRole');

    // Act
    const policies = entries(template, 'AWS::IAM::Policy').filter(([, policy]) => JSON.stringify(policy.Properties.Roles).includes(roleId));

    // Assess
    expect(policies).toHaveLength(1);
    for (const [, policy] of policies) expect(policy.Properties.Roles).toEqual([{ Ref: roleId }]);
    expect(only(template, 'AWS::IAM::Role', 'WebmailFunctionRole').Properties.ManagedPolicyArns).toEqual([
      crossStack(stateful.rawMail.webmailPolicy.managedPolicyArn),
    ]);
    expect(defaultPolicy.Properties.PolicyDocument.Statement).toEqual([
      {
        Effect: 'Allow',
        Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        Resource: { 'Fn::GetAtt': [idOf(template, 'AWS::Logs::LogGroup', 'WebmailFunctionLogs'), 'Arn'] },
      },
      // Each group of items held to its partitions (table-access.ts; its test holds them against the real adapters).
      ...TABLE_ACCESS.webmail.grants.map((grant) => ({
        Sid: grant.sid,
        Effect: 'Allow',
        Action: grant.actions.length === 1 ? `dynamodb:${grant.actions[0]}` : grant.actions.map((a) => `dynamodb:${a}`).sort(),
        Resource: crossStack(stateful.index.table.tableArn),
        Condition: {
          'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [...grant.partitions] },
          Null: { 'dynamodb:LeadingKeys': 'false' },
        },
      })),
      {
        Sid: 'QueryLookupIndex',
        Effect: 'Allow',
        Action: 'dynamodb:Query',
        Resource: { 'Fn::Join': ['', [crossStack(stateful.index.table.tableArn), `/index/${MESSAGE_TABLE.lookupIndex.name}`]] },
      },
      {
        Effect: 'Allow',
        Action: ['ses:SendEmail', 'ses:SendRawEmail'],
        Resource: [
          'arn:aws:ses:eu-west-1:123456789012:configuration-set/test-webmail',
          'arn:aws:ses:eu-west-1:123456789012:identity/example.com',
        ],
      },
      {
        Effect: 'Allow',
        Action: ['ssm:GetParameter', 'ssm:PutParameter'],
        Resource: {
          'Fn::Join': [
            '',
            ['arn:aws:ssm:eu-west-1:123456789012:parameter', { Ref: idOf(template, 'AWS::SSM::Parameter', 'WebmailFailoverFlag') }],
          ],
        },
      },
      {
        Effect: 'Allow',
        Action: 'secretsmanager:GetSecretValue',
        Resource: { Ref: idOf(template, 'AWS::SecretsManager::Secret', 'WebmailSessionSecret') },
      },
      { Effect: 'Allow', Action: 'sqs:SendMessage', Resource: crossStack(stateful.resend.queue.queueArn) },
    ]);
    expect(objectsPolicy.Properties.PolicyDocument.Statement).toEqual([
      {
        Effect: 'Allow',
        Action: 's3:GetObject',
        Resource: [objects('downloads/'), objects('raw/'), objects('sent/'), objects('uploads/')],
      },
      // uploads/: drafts, and the files browsers post with the webmail's presigned forms (authorized as this role).
      { Effect: 'Allow', Action: 's3:PutObject', Resource: [objects('downloads/'), objects('sent/'), objects('uploads/')] },
      { Effect: 'Allow', Action: 's3:DeleteObject', Resource: objects('uploads/') },
      { Effect: 'Allow', Action: 's3:ListBucket', Resource: bucketArn },
      {
        Effect: 'Allow',
        Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
        Resource: { 'Fn::GetAtt': [idOf(statefulTemplate, 'AWS::KMS::Key', 'RawMailKey'), 'Arn'] },
      },
    ]);
  });

  it('reads the depths of exactly the queues the console shows (sqs:GetQueueAttributes), and names them in an environment its validation accepts', () => {
    // Prepare: the console's backlog and dead-letter queues (issue 16).
    let queues: { forward: sqs.IQueue; ingestDlq: sqs.IQueue; forwardDlq: sqs.IQueue } | undefined;
    const queue = (stack: Stack, name: string) => sqs.Queue.fromQueueArn(stack, name, `arn:aws:sqs:eu-west-1:123456789012:${name}`);
    const { template, stack } = build(
      {},
      {
        extend: (stack, webmail) => {
          queues = { forward: queue(stack, 'Fwd'), ingestDlq: queue(stack, 'IngestDlq'), forwardDlq: queue(stack, 'FwdDlq') };
          webmail.showQueueDepths(queues.forward, { ingest: queues.ingestDlq, forward: queues.forwardDlq });
        },
      },
    );
    const arn = (queue: sqs.IQueue) => stack.resolve(queue.queueArn);
    // Act
    const statements = only(template, 'AWS::IAM::Policy', 'WebmailFunctionRoleDefaultPolicy').Properties.PolicyDocument
      .Statement as unknown[];
    const vars = only(template, 'AWS::Lambda::Function', 'WebmailFunction').Properties.Environment.Variables as Record<string, unknown>;
    // Assess
    expect(statements.filter((statement) => JSON.stringify(statement).includes('GetQueueAttributes'))).toEqual([
      {
        Effect: 'Allow',
        Action: 'sqs:GetQueueAttributes',
        // CDK sorts a statement's resources.
        Resource: [arn(queues!.forward), arn(queues!.forwardDlq), arn(queues!.ingestDlq)],
      },
    ]);
    // As CloudFormation fills it in, then as the function reads it.
    const evaluate = (value: unknown): string =>
      typeof value === 'string'
        ? value
        : JSON.stringify(value) === '{"Ref":"AWS::URLSuffix"}'
          ? 'amazonaws.com'
          : (value as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1].map(evaluate).join('');
    const sqsUrl = (name: string) => `https://sqs.eu-west-1.amazonaws.com/123456789012/${name}`;
    expect(evaluate(vars[ENV.forwardQueueUrl])).toBe(sqsUrl('Fwd'));
    expect(parseQueueUrls(evaluate(vars[WEB_ENV.deadLetterQueueUrls]))).toEqual([
      { label: 'ingest', url: sqsUrl('IngestDlq') },
      { label: 'forward', url: sqsUrl('FwdDlq') },
    ]);
    expect(JSON.stringify(saml.template.toJSON())).not.toContain('GetQueueAttributes');
    // The oldest job's age from the forward's metric: GetMetricData alone, in a policy of its own.
    const metricPolicies = Object.values(template.findResources('AWS::IAM::Policy')).filter((policy) =>
      JSON.stringify(policy).includes('cloudwatch:'),
    );
    expect(metricPolicies.map((policy) => policy.Properties.PolicyDocument.Statement)).toEqual([
      [{ Effect: 'Allow', Action: 'cloudwatch:GetMetricData', Resource: '*' }],
    ]);
    expect(JSON.stringify(saml.template.toJSON())).not.toContain('cloudwatch:GetMetricData');
  });

  it('sends from every mail domain identity it is given, with its configuration set', () => {
    // Act
    const { template } = build({ domains: ['corp.example', 'corp-group.example'] });

    // Assess
    const statements = only(template, 'AWS::IAM::Policy', 'WebmailFunctionRoleDefaultPolicy').Properties.PolicyDocument.Statement as Array<{
      Action: unknown;
      Resource: unknown;
    }>;
    expect(statements.filter((s) => JSON.stringify(s.Action).includes('ses:'))).toEqual([
      {
        Effect: 'Allow',
        Action: ['ses:SendEmail', 'ses:SendRawEmail'],
        Resource: [
          'arn:aws:ses:eu-west-1:123456789012:configuration-set/test-webmail',
          'arn:aws:ses:eu-west-1:123456789012:identity/corp-group.example',
          'arn:aws:ses:eu-west-1:123456789012:identity/corp.example',
        ],
      },
    ]);
  });
});

describe('outputs', () => {
  it('names the webmail, the flag, the pool, the domain and what AD FS needs, under fixed keys without exports', () => {
    // Act
    const outputs = saml.template.findOutputs('*') as Record<string, { Value: unknown; Export?: unknown }>;

    // Assess
    const poolRef = { Ref: idOf(saml.template, 'AWS::Cognito::UserPool', 'WebmailUserPool') };
    const domainRef = { Ref: idOf(saml.template, 'AWS::Cognito::UserPoolDomain', 'WebmailUserPoolDomain') };
    const cognito = (path: string) => ({ 'Fn::Join': ['', ['https://', domainRef, `.auth.eu-west-1.amazoncognito.com${path}`]] });
    expect(Object.keys(outputs).sort()).toEqual([
      'CognitoDomain',
      'FailoverParameterName',
      'IdentityProviderName',
      'NoticeChannels',
      'NoticeSender',
      'SamlAcsUrl',
      'SamlEntityId',
      'UserPoolClientId',
      'UserPoolId',
      'WebmailUrl',
    ]);
    expect(outputs.UserPoolClientId!.Value).toEqual({
      Ref: idOf(saml.template, 'AWS::Cognito::UserPoolClient', 'WebmailUserPoolWebmailClient'),
    });
    for (const output of Object.values(outputs)) expect(output.Export).toBeUndefined();
    expect(outputs.WebmailUrl!.Value).toEqual({
      'Fn::Join': ['', [{ 'Fn::GetAtt': [idOf(saml.template, 'AWS::ApiGatewayV2::Api', 'WebmailApi'), 'ApiEndpoint'] }, '/']],
    });
    expect(outputs.FailoverParameterName!.Value).toEqual({ Ref: idOf(saml.template, 'AWS::SSM::Parameter', 'WebmailFailoverFlag') });
    expect(outputs.UserPoolId!.Value).toEqual(poolRef);
    expect(outputs.CognitoDomain!.Value).toEqual(cognito(''));
    expect(outputs.SamlEntityId!.Value).toEqual({ 'Fn::Join': ['', ['urn:amazon:cognito:sp:', poolRef]] });
    expect(outputs.SamlAcsUrl!.Value).toEqual(cognito('/saml2/idpresponse'));
    expect(outputs.IdentityProviderName!.Value).toEqual({
      Ref: idOf(saml.template, 'AWS::Cognito::UserPoolIdentityProvider', 'WebmailIdentityProvider'),
    });
  });

  it('gives the OIDC redirect URL instead of the SAML values for Entra ID, also without a fixed region', () => {
    // Act
    const { template } = build({ identityProvider: ENTRA }, { env: false });

    // Assess
    const outputs = template.findOutputs('*') as Record<string, { Value: unknown }>;
    expect(Object.keys(outputs).sort()).toEqual([
      'CognitoDomain',
      'FailoverParameterName',
      'IdentityProviderName',
      'NoticeChannels',
      'NoticeSender',
      'OidcRedirectUrl',
      'UserPoolClientId',
      'UserPoolId',
      'WebmailUrl',
    ]);
    expect(outputs.OidcRedirectUrl!.Value).toEqual({
      'Fn::Join': [
        '',
        [
          'https://',
          { Ref: idOf(template, 'AWS::Cognito::UserPoolDomain', 'WebmailUserPoolDomain') },
          '.auth.',
          { Ref: 'AWS::Region' },
          '.amazoncognito.com/oauth2/idpresponse',
        ],
      ],
    });
  });
});

describe('failover notices', () => {
  it('sends nothing by SMS unless configured: no SNS grant, channels none', () => {
    const outputs = saml.template.findOutputs('*') as Record<string, { Value: unknown }>;
    expect(outputs.NoticeChannels!.Value).toBe('none');
    expect(outputs.NoticeSender!.Value).toBe('noreply@example.com');
    // The webmail function's own policies; the SMS role Cognito sends sign-in codes through is another principal.
    const webmailRole = idOf(saml.template, 'AWS::IAM::Role', 'WebmailFunctionRole');
    const webmailPolicies = Object.values(saml.template.findResources('AWS::IAM::Policy')).filter((policy) =>
      JSON.stringify(policy.Properties.Roles).includes(webmailRole),
    );
    expect(webmailPolicies.length).toBeGreaterThan(0);
    expect(JSON.stringify(webmailPolicies)).not.toMatch(/sns:Publish|ses:GetAccount/);
  });

  it('grants sns:Publish and ses:GetAccount (resource "*", the only one either authorizes) in a policy of its own when notices are on', () => {
    const { template, app } = build({ breakGlass: { notices: { sms: true, email: true } } } as Partial<ShadowmailConfigInput>);
    const vars = only(template, 'AWS::Lambda::Function', 'WebmailFunction').Properties.Environment.Variables as Record<string, unknown>;
    expect(vars[WEB_ENV.noticeChannels]).toBe('sms,email');
    const policy = only(template, 'AWS::IAM::Policy', 'WebmailNoticePolicy');
    expect(policy.Properties.PolicyDocument.Statement).toEqual([
      { Action: ['ses:GetAccount', 'sns:Publish'], Effect: 'Allow', Resource: '*' },
    ]);
    expect(policy.Properties.Roles).toEqual([{ Ref: idOf(template, 'AWS::IAM::Role', 'WebmailFunctionRole') }]);
    const assembly = app.synth();
    const findings = (JSON.parse(readFileSync(join(assembly.directory, 'validation-report.json'), 'utf8')) as { pluginReports: unknown[] })
      .pluginReports;
    expect(findings).toEqual([]);
  });
});

describe('cdk-nag', () => {
  const report = (app: App) => {
    const assembly = app.synth();
    return (JSON.parse(readFileSync(join(assembly.directory, 'validation-report.json'), 'utf8')) as { pluginReports: unknown[] })
      .pluginReports;
  };

  it.each([
    ['SAML by URL', {}, {}],
    ['SAML by file', { identityProvider: { type: 'saml', metadataFile: METADATA_FIXTURE } }, {}],
    ['OIDC without a fixed environment', { identityProvider: ENTRA }, { env: false }],
    ['an own host name', { webmail: { cognitoDomainPrefix: 'corp-shadowmail', customDomain: CUSTOM_DOMAIN } }, {}],
    [
      'break-glass admins and no staff codes',
      { breakGlass: { staffSmsCodes: false, admins: [{ username: 'it-admin@example.com', mobile: '+4915550001001' }] } },
      {},
    ],
  ] as Array<[string, Partial<ShadowmailConfigInput>, { env?: boolean }]>)(
    'passes AwsSolutions with %s: every finding fixed or acknowledged',
    (_what, overrides, options) => {
      // Prepare
      const { app } = build(overrides, options);

      // Act
      const findings = report(app);

      // Assess
      expect(findings).toEqual([]);
    },
  );

  it('acknowledges wildcards only for the three mail prefixes, so another wildcard grant still fails synth', () => {
    // Prepare
    const careless = (stack: Stack, webmail: Webmail, rawMail: RawMailBucket) => {
      new iam.Policy(stack, 'CarelessGrant', {
        roles: [webmail.function.role],
        statements: [new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: [rawMail.bucket.arnForObjects('*')] })],
      });
    };
    const outdir = mkdtempSync(join(outRoot, 'careless-'));

    // Act
    const attempt = () => build({}, { extend: careless, outdir });

    // Assess
    expect(attempt).toThrow(/AwsSolutions-IAM5/);
    const findings = (JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8')) as ValidationReport).pluginReports.flatMap(
      (plugin) => plugin.violations,
    );
    expect(findings.map((f) => [f.ruleName, f.violatingConstructs.map((r) => r.constructPath)])).toEqual([
      [expect.stringMatching(/^AwsSolutions-IAM5\[Resource::.*\/\*\]$/), ['Stateless/CarelessGrant/Resource']],
    ]);
    const acknowledged = saml.stateful.rawMail.webmailPolicy.node.metadata
      .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((entry) => Object.keys(entry.data as Record<string, string>));
    expect(acknowledged).toHaveLength(4);
    for (const prefix of ['raw/', 'sent/', 'downloads/', 'uploads/']) {
      expect(
        acknowledged.filter((id) => id.startsWith('Annotation::AwsSolutions-IAM5[Resource::') && id.endsWith(`/${prefix}*]`)),
      ).toHaveLength(1);
    }
  });
});

describe('break-glass sign-in', () => {
  const ADMINS = [
    { username: 'it-admin@example.com', mobile: '+4915550001001' },
    { username: 'ceo@example.com', privateEmail: 'ceo@home.example.net' },
  ];
  let breakGlass: ReturnType<typeof build>;
  beforeAll(() => {
    breakGlass = build({ breakGlass: { admins: ADMINS } } as Partial<ShadowmailConfigInput>);
  });

  it('offers password, SMS code and passkey as first factors on the Essentials plan, passkeys with user verification on the sign-in domain', () => {
    // Act
    const pool = only(saml.template, 'AWS::Cognito::UserPool', 'WebmailUserPool');

    // Assess
    expect(pool.Properties).toMatchObject({
      UserPoolTier: 'ESSENTIALS',
      Policies: { SignInPolicy: { AllowedFirstAuthFactors: ['PASSWORD', 'SMS_OTP', 'WEB_AUTHN'] } },
      MfaConfiguration: 'OPTIONAL',
      EnabledMfas: ['SOFTWARE_TOKEN_MFA'],
      WebAuthnRelyingPartyID: 'example-com-shadowmail.auth.eu-west-1.amazoncognito.com',
      WebAuthnUserVerification: 'required',
    });
    // Users come from the directory sync with MessageAction SUPPRESS: no invitation template, no self sign-up.
    expect(pool.Properties.AdminCreateUserConfig).toEqual({ AllowAdminCreateUserOnly: true });
  });

  it('leaves the SMS code out of the first factors when breakGlass.staffSmsCodes is false', () => {
    // Act
    const { template } = build({ breakGlass: { staffSmsCodes: false } } as Partial<ShadowmailConfigInput>);

    // Assess
    expect(only(template, 'AWS::Cognito::UserPool', 'WebmailUserPool').Properties.Policies.SignInPolicy).toEqual({
      AllowedFirstAuthFactors: ['PASSWORD', 'WEB_AUTHN'],
    });
    expect(only(template, 'AWS::Lambda::Function', 'WebmailSignInTrigger').Properties.Environment.Variables).toMatchObject({
      [SIGN_IN_TRIGGER_ENV.staffSmsCodes]: 'false',
    });
  });

  it('sends SMS through its own role that only Cognito may assume, with the external id, for a pool of this account', () => {
    // Act
    const pool = only(saml.template, 'AWS::Cognito::UserPool', 'WebmailUserPool');
    const [roleId, role] = entry(saml.template, 'AWS::IAM::Role', 'WebmailSmsRole');

    // Assess
    expect(pool.Properties.SmsConfiguration).toEqual({
      SnsCallerArn: { 'Fn::GetAtt': [roleId, 'Arn'] },
      ExternalId: 'shadowmail-example-webmail-sms',
    });
    expect(role.Properties.AssumeRolePolicyDocument.Statement).toEqual([
      {
        Effect: 'Allow',
        Principal: { Service: 'cognito-idp.amazonaws.com' },
        Action: 'sts:AssumeRole',
        Condition: {
          StringEquals: { 'sts:ExternalId': 'shadowmail-example-webmail-sms', 'aws:SourceAccount': '123456789012' },
          ArnLike: { 'aws:SourceArn': 'arn:aws:cognito-idp:eu-west-1:123456789012:userpool/*' },
        },
      },
    ]);
    expect(role.Properties.Policies).toEqual([
      {
        PolicyName: 'SmsOnly',
        PolicyDocument: {
          Version: '2012-10-17',
          Statement: [
            { Effect: 'Allow', Action: 'sns:Publish', Resource: '*' },
            { Effect: 'Deny', Action: 'sns:Publish', Resource: 'arn:*:sns:*:*:*' },
          ],
        },
      },
    ]);
    expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    expect(entries(saml.template, 'AWS::IAM::Policy').filter(([, p]) => JSON.stringify(p.Properties.Roles).includes(roleId))).toEqual([]);
  });

  it('sends SMS from Tokyo for a pool in Seoul, and from the pool region elsewhere', () => {
    // Act
    const seoul = build({ region: 'ap-northeast-2' } as Partial<ShadowmailConfigInput>);

    // Assess
    expect(only(seoul.template, 'AWS::Cognito::UserPool', 'WebmailUserPool').Properties.SmsConfiguration.SnsRegion).toBe('ap-northeast-1');
    expect(only(saml.template, 'AWS::Cognito::UserPool', 'WebmailUserPool').Properties.SmsConfiguration.SnsRegion).toBeUndefined();
  });

  it('serves the newer managed login with Cognito default style for the webmail client', () => {
    // Act
    const domain = only(saml.template, 'AWS::Cognito::UserPoolDomain', 'WebmailUserPoolDomain');
    const branding = only(saml.template, 'AWS::Cognito::ManagedLoginBranding', 'WebmailManagedLoginBranding');

    // Assess
    expect(domain.Properties.ManagedLoginVersion).toBe(2);
    expect(branding.Properties).toEqual({
      UserPoolId: { Ref: idOf(saml.template, 'AWS::Cognito::UserPool', 'WebmailUserPool') },
      ClientId: { Ref: idOf(saml.template, 'AWS::Cognito::UserPoolClient', 'WebmailUserPoolWebmailClient') },
      UseCognitoProvidedValues: true,
    });
  });

  it('runs the trigger before and after authentication, invocable by Cognito for this pool only', () => {
    // Act
    const pool = only(saml.template, 'AWS::Cognito::UserPool', 'WebmailUserPool');
    const poolId = idOf(saml.template, 'AWS::Cognito::UserPool', 'WebmailUserPool');
    const fnId = idOf(saml.template, 'AWS::Lambda::Function', 'WebmailSignInTrigger');
    const permissions = entries(saml.template, 'AWS::Lambda::Permission').filter(([, p]) => JSON.stringify(p.Properties).includes(fnId));

    // Assess
    expect(pool.Properties.LambdaConfig).toEqual({
      PreAuthentication: { 'Fn::GetAtt': [fnId, 'Arn'] },
      PostAuthentication: { 'Fn::GetAtt': [fnId, 'Arn'] },
    });
    expect(permissions.map(([, p]) => p.Properties)).toEqual([
      {
        Action: 'lambda:InvokeFunction',
        FunctionName: { 'Fn::GetAtt': [fnId, 'Arn'] },
        Principal: 'cognito-idp.amazonaws.com',
        SourceArn: { 'Fn::GetAtt': [poolId, 'Arn'] },
      },
      {
        Action: 'lambda:InvokeFunction',
        FunctionName: { 'Fn::GetAtt': [fnId, 'Arn'] },
        Principal: 'cognito-idp.amazonaws.com',
        SourceArn: { 'Fn::GetAtt': [poolId, 'Arn'] },
      },
    ]);
    expect(only(saml.template, 'AWS::Lambda::Function', 'WebmailSignInTrigger').Properties).toMatchObject({
      Timeout: SIGN_IN_TRIGGER_LIMITS.timeout.toSeconds(),
      MemorySize: SIGN_IN_TRIGGER_LIMITS.memoryMiB,
    });
  });

  it('gives the trigger and the webmail the configured admins, and the trigger an environment its own validation accepts', () => {
    // Prepare
    const { template, crossStack, stateful } = breakGlass;
    const vars = only(template, 'AWS::Lambda::Function', 'WebmailSignInTrigger').Properties.Environment.Variables as Record<
      string,
      unknown
    >;
    const parameterId = idOf(template, 'AWS::SSM::Parameter', 'WebmailFailoverFlag');
    const runtime = {
      ...vars,
      [ENV.tableName]: 'Stateful-MessageIndexTable-ABC123',
      [WEB_ENV.failoverParameter]: '/shadowmail-example/failover',
    } as Record<string, string>;

    // Act
    const env = readAwsSignInTriggerEnv(runtime);

    // Assess
    expect(vars).toEqual({
      [ENV.tableName]: crossStack(stateful.index.table.tableName),
      [WEB_ENV.failoverParameter]: { Ref: parameterId },
      [WEB_ENV.breakGlassAdmins]: 'it-admin@example.com,ceo@example.com',
      [SIGN_IN_TRIGGER_ENV.staffSmsCodes]: 'true',
      NODE_OPTIONS: '--enable-source-maps',
    });
    expect(env).toMatchObject({
      [WEB_ENV.breakGlassAdmins]: ['it-admin@example.com', 'ceo@example.com'],
      [SIGN_IN_TRIGGER_ENV.staffSmsCodes]: true,
    });
    expect(only(template, 'AWS::Lambda::Function', 'WebmailFunction').Properties.Environment.Variables[WEB_ENV.breakGlassAdmins]).toBe(
      'it-admin@example.com,ceo@example.com',
    );
    // What shadowmail doctor checks the admins by; a stack without admins has no such output.
    expect((template.findOutputs('BreakGlassAdmins') as Record<string, { Value: unknown }>).BreakGlassAdmins!.Value).toBe(
      'it-admin@example.com,ceo@example.com',
    );
    expect(saml.template.findOutputs('BreakGlassAdmins')).toEqual({});
  });

  it('grants the trigger exactly the flag, the directory items it reads, audit items, and AdminGetUser on this pool in a policy the function does not wait for', () => {
    // Prepare
    const { template, crossStack, stateful } = saml;
    const roleId = idOf(template, 'AWS::IAM::Role', 'WebmailSignInTriggerFunctionRole');
    const fnId = idOf(template, 'AWS::Lambda::Function', 'WebmailSignInTrigger');
    const tableArn = crossStack(stateful.index.table.tableArn);

    // Act
    const policies = entries(template, 'AWS::IAM::Policy').filter(([, p]) => JSON.stringify(p.Properties.Roles).includes(roleId));
    const [defaultId, defaultPolicy] = policies.find(([id]) => id.includes('DefaultPolicy'))!;
    const [poolPolicyId, poolPolicy] = policies.find(([id]) => id.includes('PoolPolicy'))!;
    const fn = template.toJSON().Resources[fnId] as { DependsOn?: string[] };

    // Assess
    expect(policies).toHaveLength(2);
    expect(defaultPolicy.Properties.PolicyDocument.Statement).toEqual([
      {
        Effect: 'Allow',
        Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        Resource: { 'Fn::GetAtt': [idOf(template, 'AWS::Logs::LogGroup', 'WebmailSignInTriggerFunctionLogs'), 'Arn'] },
      },
      {
        Effect: 'Allow',
        Action: 'ssm:GetParameter',
        Resource: {
          'Fn::Join': [
            '',
            ['arn:aws:ssm:eu-west-1:123456789012:parameter', { Ref: idOf(template, 'AWS::SSM::Parameter', 'WebmailFailoverFlag') }],
          ],
        },
      },
      {
        Effect: 'Allow',
        Action: 'dynamodb:GetItem',
        Resource: tableArn,
        Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['ADDR#*', 'DIR#*', 'SETUP#*'] } },
      },
      {
        Effect: 'Allow',
        Action: 'dynamodb:PutItem',
        Resource: tableArn,
        Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['AUDIT#*'] } },
      },
    ]);
    expect(poolPolicy.Properties.PolicyDocument.Statement).toEqual([
      {
        Effect: 'Allow',
        Action: 'cognito-idp:AdminGetUser',
        Resource: { 'Fn::GetAtt': [idOf(template, 'AWS::Cognito::UserPool', 'WebmailUserPool'), 'Arn'] },
      },
    ]);
    expect(fn.DependsOn).toContain(defaultId);
    expect(fn.DependsOn ?? []).not.toContain(poolPolicyId);
  });
});

// The CloudFront + WAF option (config webmail.waf) as CloudFormation, through the whole
// app (lib/shadowmail-app.ts): off by default (no edge stack, no distribution); on, a
// us-east-1 stack with the web ACL (three rate-based rules answering 429), a distribution
// in the webmail stack that uses it, forwards everything uncached to the HTTP API with the
// generated origin secret as a dynamic reference, and the webmail URL, Cognito callbacks
// and function environment on the CloudFront name; the function may read the secret.
// cdk-nag stays clean. Bundling is skipped (`aws:cdk:bundling-stacks: []`).
import { mkdtempSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ORIGIN_SECRET_HEADER, SECURE_SESSION_COOKIE } from '../../../../lambdas/contract/edge.ts';
import { WEB_ENV } from '../../../../lambdas/contract/environment.ts';
import { parseConfig, type ShadowmailConfigInput } from '../../../../lib/config.ts';
import { WAF_WINDOW_SECONDS } from '../../../../lib/constructs/webmail-firewall.ts';
import { buildShadowmail } from '../../../../lib/shadowmail-app.ts';
import { DEFAULT_WAF_LIMITS } from '../../../../lib/webmail-rate-limits.ts';
import type { CfnResource } from '../../../support/cfn-resource.ts';

const ROOT = resolve(import.meta.dirname, '../../../..');
const cdkJson = JSON.parse(readFileSync(join(ROOT, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> };
const EXAMPLE = cdkJson.context.shadowmail as ShadowmailConfigInput;
const ENVIRONMENT = { account: '123456789012', region: 'eu-west-1' };
const CUSTOM_DOMAIN = {
  domainName: 'webmail.corp.example',
  certificateArn: 'arn:aws:acm:eu-west-1:123456789012:certificate/12345678-1234-1234-1234-123456789012',
};
const EDGE_CERTIFICATE = 'arn:aws:acm:us-east-1:123456789012:certificate/87654321-4321-4321-4321-210987654321';
const WITH_WAF = { ...EXAMPLE, ...ENVIRONMENT, webmail: { ...EXAMPLE.webmail, waf: { enabled: true } } } as ShadowmailConfigInput;

const outRoot = mkdtempSync(join(tmpdir(), 'shadowmail-waf-cdk-'));
afterAll(async () => {
  await rm(outRoot, { recursive: true, force: true });
});

function synthesize(config: ShadowmailConfigInput) {
  const app = new App({ outdir: mkdtempSync(join(outRoot, 'app-')), context: { ...cdkJson.context, 'aws:cdk:bundling-stacks': [] } });
  const stacks = buildShadowmail(app, parseConfig(config));
  const assembly = app.synth();
  const findings = (JSON.parse(readFileSync(join(assembly.directory, 'validation-report.json'), 'utf8')) as { pluginReports: unknown[] })
    .pluginReports;
  return { stacks, stateless: Template.fromStack(stacks.stateless), findings };
}

const resources = (template: Template, type: string) => Object.entries(template.findResources(type) as Record<string, CfnResource>);

describe('webmail.waf off (the default)', () => {
  it('adds no edge stack, no distribution and no origin secret; the webmail URL is the API endpoint', () => {
    // Act
    const { stacks, stateless } = synthesize({ ...EXAMPLE, ...ENVIRONMENT });

    // Assess
    expect(stacks.edge).toBeUndefined();
    expect(resources(stateless, 'AWS::CloudFront::Distribution')).toEqual([]);
    expect(resources(stateless, 'AWS::SecretsManager::Secret').map(([id]) => id)).not.toContainEqual(expect.stringMatching(/OriginSecret/));
    const vars = resources(stateless, 'AWS::Lambda::Function').find(([id]) => id.startsWith('WebmailFunction'))![1].Properties.Environment
      .Variables as Record<string, unknown>;
    expect(vars[WEB_ENV.originSecretArn]).toBeUndefined();
  });
});

describe('webmail.waf on', () => {
  let built: ReturnType<typeof synthesize>;
  beforeAll(() => {
    built = synthesize(WITH_WAF);
  });

  it('puts the web ACL (scope CLOUDFRONT) in a stack of its own in us-east-1, with a rate rule per address, per address without session, per session', () => {
    // Act
    const edge = built.stacks.edge!;
    const acls = resources(Template.fromStack(edge), 'AWS::WAFv2::WebACL');

    // Assess
    expect(edge.region).toBe('us-east-1');
    expect(edge.account).toBe(ENVIRONMENT.account);
    expect(acls).toHaveLength(1);
    const acl = acls[0]![1].Properties;
    expect(acl).toMatchObject({ Scope: 'CLOUDFRONT', DefaultAction: { Allow: {} } });
    const rules = acl.Rules as Array<{ Name: string; Statement: { RateBasedStatement: Record<string, unknown> }; Action: unknown }>;
    const byName = Object.fromEntries(rules.map((rule) => [rule.Name, rule]));
    expect(Object.keys(byName)).toEqual(['per-address', 'per-address-without-session', 'per-session']);
    for (const rule of rules) {
      expect(rule.Statement.RateBasedStatement.EvaluationWindowSec).toBe(WAF_WINDOW_SECONDS);
      expect(rule.Action).toEqual({
        Block: { CustomResponse: { ResponseCode: 429, ResponseHeaders: [{ Name: 'retry-after', Value: '60' }] } },
      });
    }
    expect(byName['per-address']!.Statement.RateBasedStatement).toMatchObject({
      Limit: DEFAULT_WAF_LIMITS.requestsPer5MinPerIp,
      AggregateKeyType: 'IP',
    });
    // Only requests without the session cookie count against the low anonymous limit.
    expect(byName['per-address-without-session']!.Statement.RateBasedStatement).toMatchObject({
      Limit: DEFAULT_WAF_LIMITS.requestsPer5MinPerIpWithoutSession,
      AggregateKeyType: 'IP',
      ScopeDownStatement: {
        NotStatement: {
          Statement: {
            ByteMatchStatement: {
              FieldToMatch: { SingleHeader: { Name: 'cookie' } },
              PositionalConstraint: 'CONTAINS',
              SearchString: `${SECURE_SESSION_COOKIE}=`,
            },
          },
        },
      },
    });
    expect(byName['per-session']!.Statement.RateBasedStatement).toMatchObject({
      Limit: DEFAULT_WAF_LIMITS.requestsPer5MinPerSession,
      AggregateKeyType: 'CUSTOM_KEYS',
      CustomKeys: [{ Cookie: { Name: SECURE_SESSION_COOKIE, TextTransformations: [{ Priority: 0, Type: 'NONE' }] } }],
    });
  });

  it('fronts the HTTP API with a distribution that uses the web ACL, caches nothing, forwards all but Host and adds the origin secret by reference', () => {
    // Act
    const distributions = resources(built.stateless, 'AWS::CloudFront::Distribution');
    const [secretId] = resources(built.stateless, 'AWS::SecretsManager::Secret').find(([id]) => id.startsWith('WebmailOriginSecret'))!;
    const [apiId] = resources(built.stateless, 'AWS::ApiGatewayV2::Api').find(([id]) => id.startsWith('WebmailApi'))!;

    // Assess
    expect(distributions).toHaveLength(1);
    const config = distributions[0]![1].Properties.DistributionConfig;
    // The ARN crosses regions as an output of the us-east-1 stack that CloudFormation reads at deploy time.
    expect(config.WebACLId).toEqual({
      'Fn::GetStackOutput': { StackName: 'shadowmail-example-edge', Region: 'us-east-1', OutputName: expect.stringMatching(/WebAcl.*Arn/) },
    });
    expect(config.DefaultCacheBehavior).toMatchObject({
      ViewerProtocolPolicy: 'redirect-to-https',
      AllowedMethods: ['GET', 'HEAD', 'OPTIONS', 'PUT', 'PATCH', 'POST', 'DELETE'],
      // Managed policies: CachingDisabled and AllViewerExceptHostHeader.
      CachePolicyId: '4135ea2d-6df8-44a3-9df3-4b5a84be39ad',
      OriginRequestPolicyId: 'b689b0a8-53d0-40ab-baf2-68738e2966ac',
    });
    const origin = config.Origins[0];
    expect(JSON.stringify(origin.DomainName)).toContain(apiId);
    expect(origin.CustomOriginConfig).toMatchObject({ OriginProtocolPolicy: 'https-only', OriginSSLProtocols: ['TLSv1.2'] });
    expect(origin.OriginCustomHeaders).toHaveLength(1);
    expect(origin.OriginCustomHeaders[0].HeaderName).toBe(ORIGIN_SECRET_HEADER);
    // A dynamic reference CloudFormation resolves at deploy time: the template holds no secret.
    expect(JSON.stringify(origin.OriginCustomHeaders[0].HeaderValue)).toMatch(
      new RegExp(`resolve:secretsmanager:.*${secretId}|${secretId}.*SecretString`),
    );
  });

  it('moves the webmail URL, the Cognito callbacks and the public URL of the function to the CloudFront name, and lets the function read the origin secret', () => {
    // Act
    const [distributionId] = resources(built.stateless, 'AWS::CloudFront::Distribution')[0]!;
    const [secretId] = resources(built.stateless, 'AWS::SecretsManager::Secret').find(([id]) => id.startsWith('WebmailOriginSecret'))!;
    const domain = { 'Fn::GetAtt': [distributionId, 'DomainName'] };
    const [, client] = resources(built.stateless, 'AWS::Cognito::UserPoolClient').find(([id]) => id.includes('WebmailClient'))!;
    const [, fn] = resources(built.stateless, 'AWS::Lambda::Function').find(([id]) => id.startsWith('WebmailFunction'))!;
    const outputs = built.stateless.toJSON().Outputs as Record<string, { Value: unknown }>;
    const policies = resources(built.stateless, 'AWS::IAM::Policy').filter(([id]) => id.startsWith('WebmailFunctionRoleDefaultPolicy'));

    // Assess
    expect(client.Properties.CallbackURLs).toEqual([{ 'Fn::Join': ['', ['https://', domain, '/auth/callback']] }]);
    expect(client.Properties.LogoutURLs).toEqual([{ 'Fn::Join': ['', ['https://', domain, '/']] }]);
    expect(outputs.WebmailUrl!.Value).toEqual({ 'Fn::Join': ['', ['https://', domain, '/']] });
    const vars = fn.Properties.Environment.Variables as Record<string, unknown>;
    expect(vars[WEB_ENV.publicUrl]).toEqual({ 'Fn::Join': ['', ['https://', domain]] });
    expect(vars[WEB_ENV.originSecretArn]).toEqual({ Ref: secretId });
    const statements = policies.flatMap(([, policy]) => policy.Properties.PolicyDocument.Statement as Array<Record<string, unknown>>);
    expect(statements).toContainEqual(
      expect.objectContaining({ Action: 'secretsmanager:GetSecretValue', Resource: expect.arrayContaining([{ Ref: secretId }]) }),
    );
  });

  it('passes AwsSolutions over all three stacks: every finding fixed or acknowledged', () => {
    expect(built.findings).toEqual([]);
  });

  it('serves an own host name from CloudFront with its us-east-1 certificate: no API domain, the name everywhere, DNS to CloudFront', () => {
    // Act
    const withName = synthesize({
      ...WITH_WAF,
      webmail: { ...WITH_WAF.webmail, customDomain: CUSTOM_DOMAIN, waf: { enabled: true, certificateArn: EDGE_CERTIFICATE } },
    } as ShadowmailConfigInput);
    const [distributionId, distribution] = resources(withName.stateless, 'AWS::CloudFront::Distribution')[0]!;
    const [, client] = resources(withName.stateless, 'AWS::Cognito::UserPoolClient').find(([id]) => id.includes('WebmailClient'))!;
    const [, fn] = resources(withName.stateless, 'AWS::Lambda::Function').find(([id]) => id.startsWith('WebmailFunction'))!;
    const outputs = withName.stateless.toJSON().Outputs as Record<string, { Value: unknown }>;

    // Assess
    expect(distribution.Properties.DistributionConfig).toMatchObject({
      Aliases: [CUSTOM_DOMAIN.domainName],
      ViewerCertificate: { AcmCertificateArn: EDGE_CERTIFICATE, MinimumProtocolVersion: 'TLSv1.2_2021', SslSupportMethod: 'sni-only' },
    });
    // CloudFront serves the name; the API keeps its execute-api address as CloudFront's origin.
    expect(resources(withName.stateless, 'AWS::ApiGatewayV2::DomainName')).toEqual([]);
    withName.stateless.hasResourceProperties('AWS::ApiGatewayV2::Api', { DisableExecuteApiEndpoint: false });
    expect(client.Properties.CallbackURLs).toEqual(['https://webmail.corp.example/auth/callback']);
    expect(fn.Properties.Environment.Variables[WEB_ENV.publicUrl]).toBe('https://webmail.corp.example');
    expect(outputs.WebmailUrl!.Value).toBe('https://webmail.corp.example/');
    expect(outputs.WebmailDomainTarget!.Value).toEqual({ 'Fn::GetAtt': [distributionId, 'DomainName'] });
    expect(withName.findings).toEqual([]);
  });

  it('refuses the option without account and region, an own host name without a us-east-1 certificate, naming the key', () => {
    const without = { ...EXAMPLE, webmail: { ...EXAMPLE.webmail, waf: { enabled: true } } } as ShadowmailConfigInput;
    delete (without as { account?: string }).account;
    delete (without as { region?: string }).region;
    expect(() => parseConfig(without)).toThrow(/shadowmail\.webmail\.waf\.enabled: needs account and region/);
    const custom = { ...WITH_WAF, webmail: { ...WITH_WAF.webmail, customDomain: CUSTOM_DOMAIN } } as ShadowmailConfigInput;
    expect(() => parseConfig(custom)).toThrow(/shadowmail\.webmail\.waf\.certificateArn: is required with webmail\.customDomain/);
    const regional = { ...custom, webmail: { ...custom.webmail, waf: { enabled: true, certificateArn: CUSTOM_DOMAIN.certificateArn } } };
    expect(() => parseConfig(regional as ShadowmailConfigInput)).toThrow(/waf\.certificateArn: the ARN of an ACM certificate in us-east-1/);
    const stray = { ...WITH_WAF, webmail: { ...WITH_WAF.webmail, waf: { enabled: true, certificateArn: EDGE_CERTIFICATE } } };
    expect(() => parseConfig(stray as ShadowmailConfigInput)).toThrow(/waf\.certificateArn: is only for webmail\.customDomain/);
    expect(() => parseConfig({ ...WITH_WAF, webmail: { ...WITH_WAF.webmail, waf: { enabled: true, requestsPer5MinPerIp: 5 } } })).toThrow(
      /webmail\.waf\.requestsPer5MinPerIp: a whole number from 10/,
    );
  });
});

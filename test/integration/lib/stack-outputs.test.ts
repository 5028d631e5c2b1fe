// The stack outputs `shadowmail doctor` and `shadowmail probe` read to find what to
// check (bin/commands/deployed-target.ts, STACK_OUTPUTS): the mail domains, the rule
// set that must be active, the forward function to probe through, the identity
// provider, webmail.sesDailyQuota, next to the outputs that were already there.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, describe, expect, it } from 'vitest';
import { STACK_OUTPUTS } from '../../../bin/commands/deployed-target.ts';
import { DEFAULT_SES_DAILY_QUOTA, parseConfig } from '../../../lib/config.ts';
import { buildShadowmail } from '../../../lib/shadowmail-app.ts';

const ROOT = resolve(import.meta.dirname, '../../..');
const CONTEXT = (JSON.parse(readFileSync(join(ROOT, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> }).context;
const outRoot = mkdtempSync(join(tmpdir(), 'shadowmail-doctor-outputs-'));
afterAll(() => rmSync(outRoot, { recursive: true, force: true }));

function synthesize(identityProvider: Record<string, unknown>) {
  const app = new App({ outdir: mkdtempSync(join(outRoot, 'app-')), context: { ...CONTEXT, 'aws:cdk:bundling-stacks': [] } });
  const stacks = buildShadowmail(
    app,
    parseConfig({
      stackId: 'corp-mail',
      region: 'eu-central-1',
      domains: ['corp.example', 'corp-group.example'],
      smartHost: {
        host: 'mail.corp.example',
        port: 10587,
        authSecretArn: 'arn:aws:secretsmanager:eu-central-1:123456789012:secret:shadowmail/smarthost-AbCdEf',
      },
      identityProvider,
      webmail: { cognitoDomainPrefix: 'corp-example-shadowmail' },
    }),
  );
  return { stateful: Template.fromStack(stacks.stateful), stateless: Template.fromStack(stacks.stateless) };
}

type Outputs = Record<string, { Value: unknown }>;
const logicalIdOf = (template: Template, type: string, pattern: RegExp): string => {
  const ids = Object.keys(template.findResources(type)).filter((id) => pattern.test(id));
  expect(ids, `${type} ${pattern}`).toHaveLength(1);
  return ids[0]!;
};

describe('what shadowmail doctor reads from the stacks', () => {
  it('outputs the domains, the rule set, the forward function and the identity provider of a SAML deployment', () => {
    // Act
    const { stateless } = synthesize({
      type: 'saml',
      name: 'CorpADFS',
      metadataUrl: 'https://adfs.corp.example/FederationMetadata/2007-06/FederationMetadata.xml',
    });
    const outputs = stateless.toJSON().Outputs as Outputs;

    // Assess
    expect(outputs.MailDomains!.Value).toBe('corp.example,corp-group.example');
    // What doctor compares with the account's SES quota: webmail.sesDailyQuota, here its default.
    expect(outputs.SesDailyQuota!.Value).toBe(String(DEFAULT_SES_DAILY_QUOTA));
    expect(outputs.ReceiptRuleSetName!.Value).toEqual({ Ref: logicalIdOf(stateless, 'AWS::SES::ReceiptRuleSet', /^InboundMailRuleSet/) });
    expect(outputs.ForwardFunctionName!.Value).toEqual({
      Ref: logicalIdOf(stateless, 'AWS::Lambda::Function', /^ForwardFunction[0-9A-F]{8}$/),
    });
    expect(outputs.IdentityProviderName!.Value).toEqual({
      Ref: logicalIdOf(stateless, 'AWS::Cognito::UserPoolIdentityProvider', /IdentityProvider/),
    });
    const idp = Object.values(stateless.findResources('AWS::Cognito::UserPoolIdentityProvider'))[0] as {
      Properties: { ProviderName: string };
    };
    expect(idp.Properties.ProviderName).toBe('CorpADFS');
    stateless.hasResourceProperties('AWS::SES::ReceiptRuleSet', { RuleSetName: 'corp-mail-inbound' });
  });

  it('has every output the CLI names, in the stack STACK_OUTPUTS says (OIDC deployment)', () => {
    // Act
    const { stateful, stateless } = synthesize({
      type: 'oidc',
      issuer: 'https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000/v2.0',
      clientId: '11111111-1111-1111-1111-111111111111',
      clientSecretArn: 'arn:aws:secretsmanager:eu-central-1:123456789012:secret:shadowmail/entra-client-AbCdEf',
    });
    const have = { stateful: Object.keys(stateful.findOutputs('*')), stateless: Object.keys(stateless.findOutputs('*')) };

    // Assess
    // The SES part adds ConfigurationSetName and the DeadLetterQueue<Label>Url outputs; doctor checks them when present.
    // BreakGlassAdmins exists only when breakGlass.admins names any (doctor then checks each).
    const optional = new Set(['ConfigurationSetName', 'BreakGlassAdmins']);
    const missing = Object.values(STACK_OUTPUTS)
      .filter(({ key }) => !optional.has(key))
      .filter(({ stack, key }) => !have[stack].includes(key))
      .map(({ stack, key }) => `${stack} ${key}`);
    expect(missing).toEqual([]);
  });
});

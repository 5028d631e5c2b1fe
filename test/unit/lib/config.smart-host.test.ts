// A smart host that cannot work is refused before anything is deployed (issue 11,
// defect 1): port 25 without the NAT option (AWS blocks it from Lambda), SMTP without
// authentication unless it is declared an anonymous connector behind the fixed NAT
// address, and port 587 without authentication (Exchange's Client Frontend connector,
// 530 at MAIL FROM). Port 25 with NAT is accepted but warned about at synth: AWS must
// lift the restriction for the NAT gateway's Elastic IP first. The shipped examples are
// valid configurations.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig, ShadowmailConfigError, type ShadowmailConfigInput } from '../../../lib/config.ts';
import { buildShadowmail } from '../../../lib/shadowmail-app.ts';

const ROOT = resolve(import.meta.dirname, '../../..');
const CDK_CONTEXT = (JSON.parse(readFileSync(join(ROOT, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> }).context;
const SECRET = 'arn:aws:secretsmanager:eu-central-1:123456789012:secret:shadowmail/smarthost-AbCdEf';
const BASE = {
  domains: ['corp.example'],
  identityProvider: { type: 'saml', metadataUrl: 'https://adfs.corp.example/FederationMetadata/2007-06/FederationMetadata.xml' },
  webmail: { cognitoDomainPrefix: 'corp-example-shadowmail' },
} satisfies Partial<ShadowmailConfigInput>;

const outRoot = mkdtempSync(join(tmpdir(), 'shadowmail-config-smart-host-'));
afterAll(() => rmSync(outRoot, { recursive: true, force: true }));

const config = (smartHost: Record<string, unknown>, extra: Partial<ShadowmailConfigInput> = {}) =>
  ({ ...BASE, smartHost: { host: 'mail.corp.example', ...smartHost }, ...extra }) as ShadowmailConfigInput;

function refusal(raw: ShadowmailConfigInput): string {
  try {
    parseConfig(raw);
  } catch (error) {
    if (error instanceof ShadowmailConfigError) return error.message;
    throw error;
  }
  throw new Error('the configuration was accepted');
}

describe('smart host validation', () => {
  it.each([
    [
      'port 25 without natGateway, even with authentication',
      config({ port: 25, authSecretArn: SECRET }),
      /^shadowmail\.smartHost\.port: 25 .*AWS blocks outbound port 25.*natGateway/,
    ],
    [
      'port 25 without natGateway as an anonymous connector',
      config({ port: 25, anonymousConnector: true }),
      /^shadowmail\.smartHost\.port: 25 /,
    ],
    [
      'no authentication and no anonymous connector declared',
      config({ port: 10587 }),
      /^shadowmail\.smartHost\.authSecretArn: is required unless .*"anonymousConnector": true.*natGateway/,
    ],
    [
      'no authentication on port 587 (the default port)',
      config({}),
      /^shadowmail\.smartHost\.authSecretArn: is required on port 587: .*Client Frontend.*530/,
    ],
    [
      'port 587 declared as an anonymous connector, even with natGateway',
      config({ port: 587, anonymousConnector: true }, { natGateway: {} }),
      /^shadowmail\.smartHost\.port: 587 .*Client Frontend.*530/,
    ],
    [
      'an anonymous connector without natGateway',
      config({ port: 10025, anonymousConnector: true }),
      /^shadowmail\.smartHost\.anonymousConnector: needs natGateway/,
    ],
    [
      'an anonymous connector that also logs in',
      config({ port: 25, anonymousConnector: true, authSecretArn: SECRET }, { natGateway: {} }),
      /^shadowmail\.smartHost\.anonymousConnector: .*not both/,
    ],
  ])('refuses %s, naming the key', (_what, raw, message) => {
    // Act
    const text = refusal(raw);

    // Assess
    expect(text).toMatch(message);
  });

  it.each([
    ['an authenticated connector on a port of its own', config({ port: 10587, authSecretArn: SECRET })],
    ['port 587 with authentication', config({ port: 587, authSecretArn: SECRET })],
    ['an anonymous connector on port 25 behind the NAT address', config({ port: 25, anonymousConnector: true }, { natGateway: {} })],
    [
      'an anonymous connector on a port of its own behind the NAT address',
      config({ port: 10025, anonymousConnector: true }, { natGateway: {} }),
    ],
    ['port 25 with authentication behind the NAT address', config({ port: 25, authSecretArn: SECRET }, { natGateway: {} })],
  ])('accepts %s', (_what, raw) => {
    // Act
    const parsed = parseConfig(raw);

    // Assess
    expect(parsed.smartHost.host).toBe('mail.corp.example');
  });

  it("takes the primary's message size limit in bytes, by default Exchange's receive connector default of 36 MB", () => {
    expect(parseConfig(config({ authSecretArn: SECRET })).smartHost.maxMessageBytes).toBe(37_748_736);
    expect(parseConfig(config({ authSecretArn: SECRET, maxMessageBytes: 10_485_760 })).smartHost.maxMessageBytes).toBe(10_485_760);
    expect(refusal(config({ authSecretArn: SECRET, maxMessageBytes: 1000 }))).toMatch(/smartHost\.maxMessageBytes.*at least 65536 bytes/);
  });

  it('accepts the shipped examples: cdk.json and config/example-entra-nat.json', () => {
    // Act
    const inline = parseConfig(CDK_CONTEXT.shadowmail);
    const nat = parseConfig(JSON.parse(readFileSync(join(ROOT, 'config/example-entra-nat.json'), 'utf8')));

    // Assess
    expect(inline.smartHost).toMatchObject({ port: 10587, authSecretArn: expect.stringMatching(/^arn:aws:secretsmanager:/) });
    expect(nat.smartHost).toMatchObject({ port: 25, anonymousConnector: true });
    expect(nat.natGateway).toBeDefined();
  });
});

describe('port 25 behind the NAT gateway', () => {
  const synth = (raw: ShadowmailConfigInput) => {
    const app = new App({ outdir: mkdtempSync(join(outRoot, 'app-')), context: { ...CDK_CONTEXT, 'aws:cdk:bundling-stacks': [] } });
    return Annotations.fromStack(buildShadowmail(app, parseConfig(raw)).stateless);
  };

  it('warns at synth that AWS must lift the port 25 restriction for the Elastic IP first', () => {
    // Act
    const port25 = synth(config({ port: 25, anonymousConnector: true }, { natGateway: {} }));
    const otherPort = synth(config({ port: 10025, anonymousConnector: true }, { natGateway: {} }));

    // Assess
    port25.hasWarning('*', Match.stringLikeRegexp('port 25 .*remove the port 25 restriction .*Elastic IP'));
    otherPort.hasNoWarning('*', Match.stringLikeRegexp('port 25'));
  });
});

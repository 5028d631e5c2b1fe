// The probe mode of the real forward bundle, as `shadowmail doctor` invokes it: the
// bundle built by the stack's MailFunction, run in a fresh Node process with the
// environment the stateless stack gives the forward function for each smart-host
// configuration, the smart-host secret from a Secrets Manager stand-in behind
// AWS_ENDPOINT_URL_SECRETS_MANAGER, and the test Postfix certificates trusted through
// NODE_EXTRA_CA_CERTS (as a private CA would be). Cases: plaintext, STARTTLS, a login
// required and missing (530 at MAIL), a wrong password (535 at AUTH), the right one,
// nothing listening (unreachable), a server that never greets (timeout within the
// probe's greeting limit), and a malformed request (a clear error, nothing connects).
// Needs root and Debian's postfix, openssl and sasl2-bin.

import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { App, type CfnElement } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROBE_LIMITS } from '../../../../lambdas/adapters/smtp/smtp-probe.ts';
import type { ProbeResult } from '../../../../lambdas/ports/smtp-probe.ts';
import { parseConfig, type ShadowmailConfigInput } from '../../../../lib/config.ts';
import { buildShadowmail } from '../../../../lib/shadowmail-app.ts';
import { type BundleInvocation, buildFunctionBundle, invokeBundle, tail } from '../../../support/lambda-bundle.ts';
import { type PostfixInstance, startPostfix } from '../../../support/postfix.ts';
import { STARTTLS_STEPS } from '../../../support/probe-steps.ts';
import { type FakeSecretsManager, startFakeSecretsManager } from '../../../support/secrets-manager-fake.ts';
import { freePort } from '../../../support/wait.ts';

const ROOT = resolve(import.meta.dirname, '../../../..');
const CDK_CONTEXT = (JSON.parse(readFileSync(join(ROOT, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> }).context;
const DOMAIN = 'corp.test';
const RELAY_USER = 'svc-relay@corp.test';
const RELAY_PASSWORD = 'Sommer 2030! äöü';
const REGION = 'eu-central-1';
const secretArn = (name: string) => `arn:aws:secretsmanager:${REGION}:123456789012:secret:shadowmail/${name}-AbCdEf`;

let work: string;
let bundle: string;
let open: PostfixInstance;
let guarded: PostfixInstance;
let secrets: FakeSecretsManager;
let caFile: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'shadowmail-probe-bundle-'));
  const started = Date.now();
  [bundle, open, guarded, secrets] = await Promise.all([
    buildFunctionBundle('lambdas/entry/forward.ts', CDK_CONTEXT, work),
    startPostfix({ domain: DOMAIN, users: ['alice'], tls: true }),
    startPostfix({ domain: DOMAIN, users: ['alice'], tls: true, sasl: { users: { [RELAY_USER]: RELAY_PASSWORD }, required: true } }),
    startFakeSecretsManager(),
  ]);
  console.info(`forward bundle and two Postfix instances ready in ${Date.now() - started} ms`);
  caFile = join(work, 'test-ca.pem');
  await writeFile(caFile, `${open.ca}\n${guarded.ca}\n`);
  secrets.secrets.set(secretArn('wrong'), JSON.stringify({ username: RELAY_USER, password: 'Winter 2029' }));
  secrets.secrets.set(secretArn('right'), JSON.stringify({ username: RELAY_USER, password: RELAY_PASSWORD }));
}, 180_000);

afterAll(async () => {
  await Promise.all([open?.destroy(), guarded?.destroy(), secrets?.close()]);
  if (work) await rm(work, { recursive: true, force: true });
});

/** The forward function's environment as the stateless stack sets it for this smart host (bundling skipped). */
function forwardEnvironment(smartHost: Record<string, unknown>): Record<string, unknown> {
  const anonymous = smartHost.authSecretArn === undefined;
  const config: ShadowmailConfigInput = {
    stackId: 'shadowmail-probe',
    region: REGION,
    domains: [DOMAIN],
    smartHost: { host: '127.0.0.1', ...(anonymous && { anonymousConnector: true }), ...smartHost } as ShadowmailConfigInput['smartHost'],
    ...(anonymous && { natGateway: {} }),
    identityProvider: { type: 'saml', metadataUrl: 'https://adfs.corp.test/FederationMetadata/2007-06/FederationMetadata.xml' },
    webmail: { cognitoDomainPrefix: 'corp-test-shadowmail' },
  };
  const app = new App({
    outdir: join(work, `synth-${Math.random().toString(36).slice(2)}`),
    context: { ...CDK_CONTEXT, 'aws:cdk:bundling-stacks': [] },
  });
  const { stateless } = buildShadowmail(app, parseConfig(config));
  const resources = Template.fromStack(stateless).toJSON().Resources as Record<
    string,
    { Properties: { Environment: { Variables: Record<string, unknown> } } }
  >;
  return resources[stateless.getLogicalId(stateless.forward.function.node.defaultChild as CfnElement)]!.Properties.Environment.Variables;
}

async function probe(
  smartHost: Record<string, unknown>,
  request: unknown = { from: 'postmaster@corp.test', recipient: `alice@${DOMAIN}` },
): Promise<BundleInvocation & { probe: ProbeResult }> {
  const run = await invokeBundle(
    bundle,
    forwardEnvironment(smartHost),
    { shadowmailProbe: request },
    {
      workDir: work,
      extraEnv: { ...secrets.env(REGION), NODE_EXTRA_CA_CERTS: caFile },
      timeoutMs: PROBE_LIMITS.totalMs + 15_000,
    },
  );
  return { ...run, probe: run.result as ProbeResult };
}

const stepNames = (result: ProbeResult) =>
  result.steps.map((step) => `${step.step}:${step.ok ? (step.code ?? 'ok') : `FAIL ${step.code ?? ''}`.trim()}`);

describe('the forward bundle in probe mode', () => {
  it('walks a plaintext session to RCPT and back out', async () => {
    // Act
    const run = await probe({ port: open.port, tls: 'none' });

    // Assess
    expect(run.probe, tail(run.stderr)).toMatchObject({ host: '127.0.0.1', port: open.port, ok: true, fault: null });
    expect(stepNames(run.probe)).toEqual(['connect:ok', 'greeting:220', 'ehlo:250', 'mail:250', 'rcpt:250', 'rset:250', 'quit:221']);
  });

  it('upgrades with STARTTLS and checks the certificate against the trusted authorities', async () => {
    // Act
    const run = await probe({ port: open.port, tls: 'starttls-required' });

    // Assess
    expect(run.probe, tail(run.stderr)).toMatchObject({ ok: true, fault: null });
    expect(stepNames(run.probe)).toEqual([...STARTTLS_STEPS, 'mail:250', 'rcpt:250', 'rset:250', 'quit:221']);
  });

  it('reports a connector that wants a login the configuration does not give: 530 at MAIL FROM', async () => {
    // Act
    const run = await probe({ port: guarded.port, tls: 'starttls-required' });

    // Assess
    expect(run.probe, tail(run.stderr)).toMatchObject({ ok: false, fault: 'auth' });
    expect(stepNames(run.probe)).toContain('mail:FAIL 530');
    expect(run.probe.summary).toMatch(/wants a login \(530 .*smartHost\.authSecretArn/);
  });

  it('reports a wrong password in the secret: 535 at AUTH', async () => {
    // Act
    const run = await probe({ port: guarded.port, tls: 'starttls-required', authSecretArn: secretArn('wrong') });

    // Assess
    expect(run.probe, tail(run.stderr)).toMatchObject({ ok: false, fault: 'auth' });
    expect(stepNames(run.probe)).toContain('auth:FAIL 535');
    expect(secrets.reads).toContain(secretArn('wrong'));
    expect(run.stdout + run.stderr).not.toContain('Winter 2029');
  });

  it('logs in with the secret and reaches RCPT', async () => {
    // Act
    const run = await probe({ port: guarded.port, tls: 'starttls-required', authSecretArn: secretArn('right') });

    // Assess
    expect(run.probe, tail(run.stderr)).toMatchObject({ ok: true, fault: null });
    expect(stepNames(run.probe)).toEqual([...STARTTLS_STEPS, 'auth:235', 'mail:250', 'rcpt:250', 'rset:250', 'quit:221']);
  });

  it('reports nothing listening as unreachable', async () => {
    // Act
    const run = await probe({ port: await freePort(), tls: 'starttls-required' });

    // Assess
    expect(run.probe, tail(run.stderr)).toMatchObject({ ok: false, fault: 'unreachable' });
    expect(stepNames(run.probe)).toEqual(['connect:FAIL']);
  });

  it(`reports a server that never greets as a timeout within the greeting limit (${PROBE_LIMITS.greetingMs} ms)`, async () => {
    // Prepare
    const sockets = new Set<Socket>();
    const silent: Server = createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => undefined);
    });
    await new Promise<void>((done) => silent.listen(0, '127.0.0.1', done));
    try {
      // Act
      const run = await probe({ port: (silent.address() as { port: number }).port, tls: 'starttls-required' });

      // Assess
      expect(run.probe, tail(run.stderr)).toMatchObject({ ok: false, fault: 'timeout' });
      const greeting = run.probe.steps.find((step) => step.step === 'greeting')!;
      expect(greeting).toMatchObject({ ok: false, reply: `no answer within ${PROBE_LIMITS.greetingMs} ms` });
      expect(greeting.ms).toBeGreaterThanOrEqual(PROBE_LIMITS.greetingMs - 5);
      expect(greeting.ms).toBeLessThan(PROBE_LIMITS.greetingMs + 2_000);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((done) => silent.close(() => done()));
    }
  }, 60_000);

  it('answers a malformed request with a clear error and connects nowhere', async () => {
    // Prepare
    const before = await open.log();

    // Act
    const run = await probe({ port: open.port, tls: 'none' }, { from: '', recipient: 'alice@corp.test>\r\nDATA' });

    // Assess
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/InvalidInputError.*invalid probe request|invalid probe request[\s\S]*InvalidInputError/);
    expect((await open.log()).slice(before.length)).not.toMatch(/connect from/);
  });
});

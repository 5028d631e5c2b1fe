// The forward bundle as deployed (built by the stack's MailFunction): it carries the relay
// and not the MIME parser (the forward sends the stored bytes as they are) nor the
// webmail — each message waits for its cold start — and its stack traces still name our
// TypeScript (source maps on, as in CloudWatch).
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildFunctionBundle, bundledPackages, bundleSources } from '../../../support/lambda-bundle.ts';
import { expectNoWebmailNorCommonJsSdk, expectSourceMappedStack, expectZodMiniOnly } from '../../../support/pipeline-bundle-checks.ts';

const ROOT = resolve(import.meta.dirname, '../../../..');
const CDK_CONTEXT = (JSON.parse(readFileSync(join(ROOT, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> }).context;

let work: string;
let bundle: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'shadowmail-forward-bundle-'));
  bundle = await buildFunctionBundle('lambdas/entry/forward.ts', CDK_CONTEXT, work);
}, 120_000);

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe('the forward bundle', () => {
  it('holds the relay and the clients it calls, not the MIME parser nor the webmail', async () => {
    // Act
    const sources = await bundleSources(bundle);

    // Assess
    const packages = bundledPackages(sources);
    for (const needed of ['nodemailer', '@aws-sdk/client-dynamodb', '@aws-sdk/client-s3', '@aws-sdk/client-sqs', '@aws-sdk/client-ses']) {
      expect(packages).toContain(needed);
    }
    expectNoWebmailNorCommonJsSdk(sources);
    expectZodMiniOnly(sources);
    expect([...packages].filter((name) => ['mailparser', 'iconv-lite', 'libmime', 'encoding-japanese'].includes(name))).toEqual([]);
    expect(sources.filter((source) => source.startsWith('lambdas/adapters/mime/'))).toEqual([]);
  });

  it('names the original .ts file and line in the stack of an error thrown inside it', async () => {
    await expectSourceMappedStack(bundle, { Records: [] }, work);
  });
});

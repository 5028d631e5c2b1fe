// The ingest bundle as deployed (built by the stack's MailFunction): it carries the ingest
// path and not the other functions' code — each message waits for its cold start — and its
// stack traces still name our TypeScript (source maps on, as in CloudWatch).
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
  work = await mkdtemp(join(tmpdir(), 'shadowmail-ingest-bundle-'));
  bundle = await buildFunctionBundle('lambdas/entry/ingest.ts', CDK_CONTEXT, work);
}, 120_000);

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe('the ingest bundle', () => {
  it('holds the ingest path: the MIME parser and the clients it calls, nothing of the webmail, the relay or other clients', async () => {
    // Act
    const sources = await bundleSources(bundle);

    // Assess
    const packages = bundledPackages(sources);
    for (const needed of ['mailparser', 'zod', '@aws-sdk/client-dynamodb', '@aws-sdk/client-s3', '@aws-sdk/client-sqs']) {
      expect(packages).toContain(needed);
    }
    expectNoWebmailNorCommonJsSdk(sources);
    expect([...packages].filter((name) => ['nodemailer', '@aws-sdk/client-ses', '@aws-sdk/client-secrets-manager'].includes(name))).toEqual(
      [],
    );
    expect(sources.filter((source) => /^lambdas\/adapters\/(smtp|oidc)\//.test(source))).toEqual([]);
    expectZodMiniOnly(sources);
  });

  it('names the original .ts file and line in the stack of an error thrown inside it', async () => {
    await expectSourceMappedStack(bundle, { Records: [] }, work);
  });
});

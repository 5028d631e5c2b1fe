// What the ingest and forward bundle tests check alike: the bundle holds nothing of the
// webmail (its routes, views, HTML sanitizer, sign-in) and no CommonJS build of an AWS SDK
// client (those keep every command of the service; the ES module builds let esbuild leave
// the unused ones out); and an error thrown inside the bundle, with the function's
// NODE_OPTIONS, shows the original .ts file and line in its stack, as CloudWatch would.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { MAIL_FUNCTION_NODE_OPTIONS, PROJECT_ROOT } from '../../lib/constructs/mail-function.ts';
import { bundledPackages, invokeBundle, tail } from './lambda-bundle.ts';

/** Packages only the webmail uses (not htmlparser2: mailparser's html-to-text parses with it). */
export const WEBMAIL_PACKAGES = [
  'hono',
  'postcss',
  'sanitize-html',
  'aws-jwt-verify',
  '@aws-sdk/client-cloudwatch',
  '@aws-sdk/client-ssm',
  '@aws-sdk/client-sesv2',
];

export function expectNoWebmailNorCommonJsSdk(sources: readonly string[]): void {
  expect(sources.filter((source) => source.startsWith('web/'))).toEqual([]);
  expect([...bundledPackages(sources)].filter((name) => WEBMAIL_PACKAGES.includes(name))).toEqual([]);
  expect(sources.filter((source) => /^node_modules\/@aws-sdk\/client-[^/]+\/dist-cjs\//.test(source))).toEqual([]);
}

/** zod's mini API only (handlers/zod-mini.ts): no classic `z` namespace, no locale but English. */
export function expectZodMiniOnly(sources: readonly string[]): void {
  expect(sources.filter((source) => source.startsWith('node_modules/zod/v4/classic/'))).toEqual([]);
  expect(sources.filter((source) => source.startsWith('node_modules/zod/v4/locales/'))).toEqual(['node_modules/zod/v4/locales/en.js']);
}

/** The line of lambdas/wiring/env.ts that throws when a variable is missing or wrong. */
function envThrowLine(): number {
  const lines = readFileSync(join(PROJECT_ROOT, 'lambdas/wiring/env.ts'), 'utf8').split('\n');
  const index = lines.findIndex((line) => line.includes('throw new ConfigurationError(variable, detail)'));
  if (index < 0) throw new Error('lambdas/wiring/env.ts no longer throws where this check expects');
  return index + 1;
}

/**
 * Invokes the bundle with none of its variables set: building its wiring throws in
 * lambdas/wiring/env.ts, and the stack Node prints must name that file and line.
 */
export async function expectSourceMappedStack(bundle: string, event: unknown, workDir: string): Promise<void> {
  const run = await invokeBundle(bundle, {}, event, { workDir, extraEnv: { NODE_OPTIONS: MAIL_FUNCTION_NODE_OPTIONS } });
  expect(run.code, tail(run.stdout + run.stderr)).not.toBe(0);
  expect(run.stderr).toMatch(/ConfigurationError/);
  expect(run.stderr, tail(run.stderr)).toMatch(new RegExp(`lambdas/wiring/env\\.ts:${envThrowLine()}:\\d+`));
}

// A failed cold start must not poison the execution environment: the Lambda entry
// points build their wiring once, but a build that failed (a secret not readable yet,
// a throttled call, a variable fixed by a redeploy of the same environment) is built
// again on the next invocation instead of failing every later one with the old error.
import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Context } from 'aws-lambda';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { lazy, lazyHandler } from '../../../../lambdas/entry/lazy.ts';

process.env.POWERTOOLS_METRICS_DISABLED = 'true';
process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';

const ROOT = resolve(import.meta.dirname, '../../../..');
const context = { awsRequestId: 'req-1', getRemainingTimeInMillis: () => 60_000 } as unknown as Context;

describe('lazy', () => {
  it('builds once and hands every caller the same value', async () => {
    // Prepare
    let builds = 0;
    const value = lazy(async () => ({ build: ++builds }));

    // Act
    const [first, second] = await Promise.all([value(), value()]);
    const third = await value();

    // Assess
    expect(builds).toBe(1);
    expect(first).toBe(second);
    expect(third).toBe(first);
  });

  it('forgets a failed build: the next call builds again and succeeds', async () => {
    // Prepare: a factory that fails once, then succeeds
    let builds = 0;
    const value = lazy(async () => {
      builds += 1;
      if (builds === 1) throw new Error('secret not readable yet');
      return 'wired';
    });

    // Act / Assess
    await expect(value()).rejects.toThrow('secret not readable yet');
    await expect(value()).resolves.toBe('wired');
    await expect(value()).resolves.toBe('wired');
    expect(builds).toBe(2);
  });

  it('lets the callers that waited on a failing build see its error, and builds anew afterwards', async () => {
    // Prepare
    let release!: () => void;
    let builds = 0;
    const value = lazy(async () => {
      builds += 1;
      if (builds === 1) {
        await new Promise<void>((resolveWait) => (release = resolveWait));
        throw new Error('throttled');
      }
      return builds;
    });

    // Act
    const waiting = [value(), value()];
    release();
    const outcomes = await Promise.allSettled(waiting);

    // Assess
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['rejected', 'rejected']);
    await expect(value()).resolves.toBe(2);
  });
});

describe('lazyHandler', () => {
  it('builds the handler on the first invocation, hands every invocation its arguments, and builds again after a failed build', async () => {
    // Prepare: a build that fails once
    let builds = 0;
    const handler = lazyHandler(async () => {
      builds += 1;
      if (builds === 1) throw new Error('secret not readable yet');
      return async (event: string, count: number) => `${event}:${count}:${builds}`;
    });

    // Act / Assess
    expect(builds).toBe(0);
    await expect(handler('a', 1)).rejects.toThrow('secret not readable yet');
    await expect(handler('b', 2)).resolves.toBe('b:2:2');
    await expect(handler('c', 3)).resolves.toBe('c:3:2');
    expect(builds).toBe(2);
  });
});

describe('the Lambda entry points after a failed cold start', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  const pipelineEnv = {
    SHADOWMAIL_TABLE_NAME: 'table',
    SHADOWMAIL_FORWARD_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/forward',
    SHADOWMAIL_SOURCE_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/consumed',
    AWS_REGION: 'eu-west-1',
  };

  it.each([
    ['ingest', {}],
    ['forward', { SHADOWMAIL_SMART_HOST: 'mail.corp.example' }],
    [
      'resend',
      {
        SHADOWMAIL_SMART_HOST: 'mail.corp.example',
        SHADOWMAIL_RESEND_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/resend',
      },
    ],
  ])('%s: fails while its configuration is missing, then works once it is there, in the same environment', async (name, extra) => {
    // Prepare: the first invocation finds no configuration
    for (const variable of [...Object.keys(pipelineEnv), ...Object.keys(extra)]) vi.stubEnv(variable, undefined);
    const { handler } = (await import(`../../../../lambdas/entry/${name}.ts`)) as {
      handler: (event: unknown, context: Context) => Promise<unknown>;
    };
    await expect(handler({ Records: [] }, context)).rejects.toThrow(/^SHADOWMAIL_[A-Z_]+: /);

    // Act: the same execution environment is invoked again once the configuration is there
    for (const [variable, value] of Object.entries({ ...pipelineEnv, ...extra })) vi.stubEnv(variable, value);
    const response = await handler({ Records: [] }, context);

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
  });

  it('every entry point builds its handler through lazyHandler(), none in a promise of its own', async () => {
    // Prepare
    const read = async (dir: string) =>
      Promise.all((await readdir(join(ROOT, dir))).map(async (file) => [file, await readFile(join(ROOT, dir, file), 'utf8')] as const));
    const exportsHandler = (text: string) => /^export (const|async function|function) handler\b/m.test(text);

    // Act
    const entryPoints = (await read('lambdas/entry')).filter(([, text]) => exportsHandler(text));
    const handlerFiles = (await read('lambdas/handlers')).filter(([, text]) => exportsHandler(text));

    // Assess
    expect(entryPoints.map(([file]) => file).sort()).toEqual([
      'forward.ts',
      'ingest.ts',
      'outage-alarm.ts',
      'resend.ts',
      'ses-rule-set-activation.ts',
      'sign-in-trigger.ts',
      'webmail.ts',
    ]);
    expect(handlerFiles.map(([file]) => file)).toEqual([]);
    for (const [file, text] of entryPoints) {
      expect(text, file).toMatch(/\blazyHandler\(/);
      expect(text, file).not.toMatch(/\?\?=\s*import\(/);
    }
  });
});

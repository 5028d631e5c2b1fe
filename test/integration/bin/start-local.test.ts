// `npm start`'s launcher (bin/start-local.mjs): bundles with esbuild into a content-addressed
// folder under .build, so starts at the same moment share one complete file, and stack traces
// out of the bundle still name the TypeScript source.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { LOCAL_LAUNCHER, PROJECT_ROOT } from '../../support/local-process.ts';

const run = promisify(execFile);

/** A fresh node process that builds `entry` with the launcher and runs `then` (module code) with `bundle` bound. */
async function inChild(entry: string, then: string): Promise<string> {
  const script = `
    const { buildEntry } = await import(${JSON.stringify(LOCAL_LAUNCHER)});
    const bundle = await buildEntry(${JSON.stringify(entry)});
    ${then}`;
  const { stdout } = await run(process.execPath, ['--input-type=module', '--eval', script], { cwd: PROJECT_ROOT, timeout: 60_000 });
  return stdout.trim();
}

describe('npm start launcher', () => {
  it('maps a stack trace from the bundle back to the .ts file and line', async () => {
    // Act
    const stack = await inChild(
      'test/support/launcher-fixture.ts',
      `process.setSourceMapsEnabled(true);
       const { failHere } = await import(new URL('file://' + bundle).href);
       try { failHere(); } catch (error) { console.log(error.stack); }`,
    );
    // Assess
    expect(stack).toContain('from the fixture');
    expect(stack).toMatch(/test\/support\/launcher-fixture\.ts:3:\d+/);
  });

  it('gives starts at the same moment one complete bundle', async () => {
    // Act: four builds of local mode at once
    const bundles = await Promise.all(Array.from({ length: 4 }, () => inChild('bin/local.ts', 'console.log(bundle);')));
    // Assess
    expect(new Set(bundles).size).toBe(1);
    const bundle = bundles[0]!;
    expect(relative(PROJECT_ROOT, dirname(dirname(bundle)))).toBe('.build');
    const code = await readFile(bundle, 'utf8');
    expect(code).toContain('startLocalStack');
    expect(code.trimEnd()).toMatch(/\/\/# sourceMappingURL=local\.mjs\.map$/);
    const map = JSON.parse(await readFile(`${bundle}.map`, 'utf8')) as { sources: string[] };
    expect(map.sources.map((source) => join(dirname(bundle), source))).toContain(join(PROJECT_ROOT, 'bin/local.ts'));
  });

  it('loads at start neither the AWS SDK nor mailauth with its BIMI and undici: local mode loads them when it first needs them, if ever', async () => {
    // Act
    const bundle = await inChild('bin/local.ts', 'console.log(bundle);');
    const code = await readFile(bundle, 'utf8');
    // Assess: the packages the bundle imports statically, so at start, against those it imports when first used.
    const atStart = new Set([...code.matchAll(/^import\s(?:[^'";]*?\sfrom\s)?["']([^"']+)["'];?$/gm)].map((m) => m[1]!));
    const later = new Set([...code.matchAll(/\bimport\(\s*["']([^"']+)["']\s*\)/g)].map((m) => m[1]!));
    expect(atStart).toContain('better-sqlite3');
    expect([...atStart].filter((p) => p.startsWith('@aws-sdk/') || p === 'mailauth')).toEqual([]);
    expect(later).toContain('@aws-sdk/client-s3');
    expect(later).toContain('@aws-sdk/s3-presigned-post');
  });
});

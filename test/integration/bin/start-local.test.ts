// `npm start` (bin/start-local.sh) and its launcher (bin/start-local.mjs): the script starts
// node with the process settings local mode is measured with; the launcher bundles with
// esbuild into a content-addressed folder under .build, so starts at the same moment share one
// complete file, and stack traces out of the bundle still name the TypeScript source.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_LAUNCHER, PROJECT_ROOT, startLocal } from '../../support/local-process.ts';

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

describe('npm start', () => {
  let parent: string;
  beforeAll(async () => {
    parent = await mkdtemp(join(tmpdir(), 'shadowmail-start-'));
  });
  afterAll(async () => {
    await rm(parent, { recursive: true, force: true });
  });

  /** The NUL-separated strings of /proc/<pid>/cmdline or environ. */
  async function procList(pid: number, file: 'cmdline' | 'environ'): Promise<string[]> {
    return (await readFile(`/proc/${pid}/${file}`, 'utf8')).split('\0').filter(Boolean);
  }

  it('runs bin/start-local.sh, which runs local mode in a node with glibc arenas capped and the collector on the main thread, as its own pid', async () => {
    // Arrange
    const manifest = JSON.parse(await readFile(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    // Act: started as the tests and the bench start it, with an option for node passed through
    const local = await startLocal(join(parent, 'settings'), { POWERTOOLS_LOG_LEVEL: 'ERROR' }, 60_000, ['--stack-trace-limit=20']);
    try {
      // Assess: the pid that was spawned (and would be killed) is node running the launcher
      const pid = local.child.pid!;
      expect(local.runtime.pid).toBe(pid);
      const cmdline = await procList(pid, 'cmdline');
      expect(cmdline.slice(1)).toEqual(['--single-threaded-gc', '--stack-trace-limit=20', LOCAL_LAUNCHER]);
      expect(await procList(pid, 'environ')).toContain('MALLOC_ARENA_MAX=2');
    } finally {
      await local.kill();
    }
    expect(manifest.scripts.start).toBe('sh bin/start-local.sh');
  });

  it('leaves a MALLOC_ARENA_MAX the admin set alone', async () => {
    // Act
    const local = await startLocal(join(parent, 'override'), { POWERTOOLS_LOG_LEVEL: 'ERROR', MALLOC_ARENA_MAX: '4' }, 60_000);
    try {
      // Assess
      expect(await procList(local.child.pid!, 'environ')).toContain('MALLOC_ARENA_MAX=4');
    } finally {
      await local.kill();
    }
  });
});

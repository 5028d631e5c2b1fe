// The test tree's own rules (test/support/test-tiers.ts): every test sits in a tier and
// mirrors the source file it tests (or is a scenario), helpers live in test/support, and
// no unit test imports what starts a server or a child process.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SCENARIOS, SOURCE_ROOTS, STARTS_SERVERS_OR_PROCESSES, TIERS, TREE_RULE_TESTS } from '../support/test-tiers.ts';

const ROOT = resolve(import.meta.dirname, '../..');

function filesUnder(dir: string): string[] {
  if (!existsSync(join(ROOT, dir))) return [];
  return readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => relative(ROOT, join(e.parentPath, e.name)));
}

/** Project paths of a file's relative imports (static and dynamic), and its package imports as written. */
function importsOf(file: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const specifiers = [
    ...text.matchAll(/(?:^|\n)\s*(?:import|export)\s(?:[^'";]*?from\s+)?['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g),
  ].map((m) => (m[1] ?? m[2])!);
  return specifiers.map((s) => (s.startsWith('.') ? relative(ROOT, resolve(dirname(join(ROOT, file)), s)) : s));
}

/** Whether `file` reaches a module that starts a server or process, directly or through test helpers. */
function startsSomething(file: string, seen = new Set<string>()): string | undefined {
  for (const target of importsOf(file)) {
    if (STARTS_SERVERS_OR_PROCESSES.includes(target)) return target;
    if (/^test\/(support|fixtures)\//.test(target) && !seen.has(target)) {
      seen.add(target);
      const through = startsSomething(target, seen);
      if (through) return `${target} -> ${through}`;
    }
  }
  return undefined;
}

/** The source file or folder a test mirrors: test/<tier>/<path>[.<aspect>].test.ts tests <path>. */
function mirroredSource(underTier: string): string | undefined {
  const parts = underTier.replace(/\.test\.ts$/, '').split('/');
  const name = parts.pop()!;
  const dir = parts.join('/');
  if (!SOURCE_ROOTS.includes(parts[0] ?? name)) return undefined;
  // Without the aspect suffixes, from the longest name down: doctor.checks -> doctor.
  const names = name.split('.').map((_, i, all) => all.slice(0, all.length - i).join('.'));
  for (const base of names) {
    const path = dir ? `${dir}/${base}` : base;
    for (const candidate of [`${path}.ts`, `${path}.tsx`, `${path}.mjs`, `${path}.md`, path]) {
      if (existsSync(join(ROOT, candidate))) return candidate;
    }
  }
  return undefined;
}

const tests = filesUnder('test').filter((f) => f.endsWith('.test.ts') && !f.startsWith('test/corpus/'));

describe('the test tree', () => {
  it('has every test in a tier folder, with only tests in the tier folders', () => {
    expect(tests.filter((f) => !TIERS.some((tier) => f.startsWith(`test/${tier}/`)))).toEqual([]);
    const helpers = TIERS.flatMap((tier) => filesUnder(`test/${tier}`)).filter((f) => !f.endsWith('.test.ts'));
    expect(helpers, 'helpers belong in test/support, data in test/fixtures').toEqual([]);
    expect(filesUnder('test/support').filter((f) => f.endsWith('.test.ts'))).toEqual([]);
  });

  it('mirrors the source tree: each test names the file or folder it tests, or is a scenario', () => {
    const unmirrored = tests.filter((f) => {
      if (TREE_RULE_TESTS.includes(f)) return false;
      const underTier = f.split('/').slice(2).join('/');
      return !underTier.startsWith(`${SCENARIOS}/`) && mirroredSource(underTier) === undefined;
    });
    expect(unmirrored).toEqual([]);
  });

  it('keeps unit tests away from every module that starts a server or a child process', () => {
    const unit = tests.filter((f) => f.startsWith('test/unit/'));
    const offending = unit.map((f) => [f, startsSomething(f)]);
    expect(offending.filter(([, through]) => through)).toEqual([]);
  });

  it('lists only modules that exist', () => {
    const local = STARTS_SERVERS_OR_PROCESSES.filter((m) => m.includes('/') && !m.startsWith('@'));
    expect(local.filter((m) => !existsSync(join(ROOT, m)) || !statSync(join(ROOT, m)).isFile())).toEqual([]);
  });
});

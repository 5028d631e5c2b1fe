// The dependency rule of the layout (see DESIGN.md): core imports nothing outside
// core; ports only core; adapters never handlers, wiring or web; handlers and web
// reach adapters only through wiring. Checked on the import statements of the tree.
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');

async function sourceFiles(dir: string): Promise<string[]> {
  const entries = await readdir(join(ROOT, dir), { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile() && /\.tsx?$/.test(e.name)).map((e) => relative(ROOT, join(e.parentPath, e.name)));
}

/** Static and dynamic import specifiers of a file, relative ones resolved to project paths. */
async function importsOf(file: string): Promise<{ packages: string[]; local: string[] }> {
  const text = await readFile(join(ROOT, file), 'utf8');
  const specifiers = [
    ...text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^'";]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g),
  ].map((m) => (m[1] ?? m[2])!);
  return {
    packages: specifiers.filter((s) => !s.startsWith('.')),
    local: specifiers.filter((s) => s.startsWith('.')).map((s) => relative(ROOT, resolve(dirname(join(ROOT, file)), s))),
  };
}

function layer(path: string): string {
  const match = /^(?:lambdas\/(core|ports|adapters|handlers|wiring)|(web|bin|lib))\//.exec(path);
  return match?.[1] ?? match?.[2] ?? path.split('/')[0]!;
}

describe('dependency rule', () => {
  it('keeps core free of SDKs and of every other layer but the port interfaces', async () => {
    for (const file of await sourceFiles('lambdas/core')) {
      const { packages, local } = await importsOf(file);
      expect(
        packages.filter((p) => !p.startsWith('node:')),
        file,
      ).toEqual([]);
      expect(
        local.filter((p) => !['core', 'ports'].includes(layer(p))),
        file,
      ).toEqual([]);
      const text = await readFile(join(ROOT, file), 'utf8');
      const valueImportsOfPorts = [...text.matchAll(/^import\s+(?!type\b)[^;]*from\s+'[^']*\/ports\/[^']+'/gm)].map((m) => m[0]);
      expect(valueImportsOfPorts, `${file} may use ports only as types`).toEqual([]);
    }
  });

  it('lets ports see only core', async () => {
    for (const file of await sourceFiles('lambdas/ports')) {
      const { packages, local } = await importsOf(file);
      expect(
        packages.filter((p) => !p.startsWith('node:')),
        file,
      ).toEqual([]);
      expect(
        local.filter((p) => !['core', 'ports'].includes(layer(p))),
        file,
      ).toEqual([]);
    }
  });

  it('keeps adapters from reaching up into handlers, wiring or web', async () => {
    for (const file of await sourceFiles('lambdas/adapters')) {
      const { local } = await importsOf(file);
      expect(
        local.filter((p) => ['handlers', 'wiring', 'web', 'bin'].includes(layer(p))),
        file,
      ).toEqual([]);
    }
  });

  it('lets handlers and web reach adapters only through wiring', async () => {
    for (const file of [...(await sourceFiles('lambdas/handlers')), ...(await sourceFiles('web'))]) {
      const { local } = await importsOf(file);
      expect(
        local.filter((p) => layer(p) === 'adapters'),
        file,
      ).toEqual([]);
    }
  });
});

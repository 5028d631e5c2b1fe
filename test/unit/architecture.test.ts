// The dependency rule of the layout (see DESIGN.md): core imports nothing outside
// core; ports only core; adapters never handlers, wiring or web; handlers and web
// reach adapters only through wiring; only the Lambda entry points import the wiring;
// lib/ and cost/ see of lambdas/ only the SDK-free contract; no import cycles.
// Checked on the import statements of the tree, type imports included.
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');

async function sourceFiles(dir: string): Promise<string[]> {
  const entries = await readdir(join(ROOT, dir), { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile() && /\.tsx?$/.test(e.name)).map((e) => relative(ROOT, join(e.parentPath, e.name)));
}

/** Static, side-effect and dynamic import specifiers of a file, relative ones resolved to project paths. */
async function importsOf(file: string): Promise<{ packages: string[]; local: string[] }> {
  const text = await readFile(join(ROOT, file), 'utf8');
  const specifiers = [
    ...text.matchAll(
      /(?:^|\n)\s*(?:import|export)\s[^'";]*?from\s+['"]([^'"]+)['"]|(?:^|\n)\s*import\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g,
    ),
  ].map((m) => (m[1] ?? m[2] ?? m[3])!);
  return {
    packages: specifiers.filter((s) => !s.startsWith('.')),
    local: specifiers.filter((s) => s.startsWith('.')).map((s) => relative(ROOT, resolve(dirname(join(ROOT, file)), s))),
  };
}

function layer(path: string): string {
  const match = /^(?:lambdas\/(contract|core|ports|adapters|handlers|entry|wiring)|(web|bin|lib|cost))\//.exec(path);
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
        local.filter((p) => ['handlers', 'entry', 'wiring', 'web', 'bin'].includes(layer(p))),
        file,
      ).toEqual([]);
    }
  });

  it('lets handlers, entry points and web reach adapters only through wiring', async () => {
    for (const file of [
      ...(await sourceFiles('lambdas/handlers')),
      ...(await sourceFiles('lambdas/entry')),
      ...(await sourceFiles('web')),
    ]) {
      const { local } = await importsOf(file);
      expect(
        local.filter((p) => layer(p) === 'adapters'),
        file,
      ).toEqual([]);
    }
  });

  it('keeps the contract free of packages (node: aside) and of every layer but the one error hierarchy', async () => {
    const files = await sourceFiles('lambdas/contract');
    expect(files.length).toBeGreaterThan(3);
    for (const file of files) {
      const { packages, local } = await importsOf(file);
      expect(
        packages.filter((p) => !p.startsWith('node:')),
        file,
      ).toEqual([]);
      expect(
        local.filter((p) => layer(p) !== 'contract' && p !== 'lambdas/core/errors.ts'),
        file,
      ).toEqual([]);
    }
  });

  it('lets lib/, cost/ and the CDK app see of lambdas/ only the contract', async () => {
    const files = [...(await sourceFiles('lib')), ...(await sourceFiles('cost')), 'bin/shadowmail.ts'];
    for (const file of files) {
      const { local } = await importsOf(file);
      expect(
        local.filter((p) => p.startsWith('lambdas/') && layer(p) !== 'contract'),
        file,
      ).toEqual([]);
    }
  });

  it('keeps the CDK out of the CLI: nothing `shadowmail` (cost included) loads reaches aws-cdk-lib, a dev dependency', async () => {
    const graph = await importGraph();
    const reached = new Set<string>();
    const packages = new Set<string>();
    const visit = (file: string): void => {
      if (reached.has(file)) return;
      reached.add(file);
      for (const p of graph.get(file)?.packages ?? []) packages.add(p);
      for (const next of graph.get(file)?.local ?? []) visit(next);
    };
    visit('bin/cli.ts');
    expect(reached).toContain('cost/cost-model.ts');
    expect([...packages].filter((p) => /^(aws-cdk-lib|constructs|cdk-nag)(\/|$)/.test(p))).toEqual([]);
  });

  it('lets only the Lambda entry points (and the wiring itself) import the wiring, of lambdas/ and web/', async () => {
    for (const file of [...(await sourceFiles('lambdas')), ...(await sourceFiles('web'))]) {
      if (['wiring', 'entry'].includes(layer(file))) continue;
      const { local } = await importsOf(file);
      expect(
        local.filter((p) => layer(p) === 'wiring'),
        file,
      ).toEqual([]);
    }
  });

  it('has no import cycle in lambdas/, web/, lib/, bin/ or cost/, type imports included', async () => {
    // Prepare
    const graph = await importGraph();

    // Act: depth-first search; an edge back to a file on the current path closes a cycle
    const cycles: string[] = [];
    const done = new Set<string>();
    const path: string[] = [];
    const visit = (file: string): void => {
      const onPath = path.indexOf(file);
      if (onPath >= 0) {
        cycles.push([...path.slice(onPath), file].join(' -> '));
        return;
      }
      if (done.has(file)) return;
      path.push(file);
      for (const next of graph.get(file)?.local ?? []) visit(next);
      path.pop();
      done.add(file);
    };
    for (const file of graph.keys()) visit(file);

    // Assess
    expect(graph.size).toBeGreaterThan(100);
    expect(cycles).toEqual([]);
  });
});

/** Every source file of the deployable tree with its imports (local ones only to files of the tree). */
async function importGraph(): Promise<Map<string, { packages: string[]; local: string[] }>> {
  const files = (await Promise.all(['lambdas', 'web', 'lib', 'bin', 'cost'].map(sourceFiles))).flat();
  const known = new Set(files);
  const graph = new Map<string, { packages: string[]; local: string[] }>();
  for (const file of files) {
    const { packages, local } = await importsOf(file);
    graph.set(file, { packages, local: local.filter((p) => known.has(p)) });
  }
  return graph;
}

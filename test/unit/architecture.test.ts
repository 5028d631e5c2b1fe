// The dependency rule of the layout (docs/design.md §1): core imports nothing outside
// core but port types and the contract; ports only core; adapters never handlers, wiring or web; handlers and web
// reach adapters only through wiring; only the Lambda entry points import the wiring;
// lib/ and cost/ see of lambdas/ only the SDK-free contract; no import cycles.
// Checked on the import statements of the tree, type imports included.
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');

interface Imports {
  packages: string[];
  /** Project paths, e.g. `lambdas/core/model.ts`. */
  local: string[];
}

async function sourceFiles(dir: string): Promise<string[]> {
  const entries = await readdir(join(ROOT, dir), { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile() && /\.tsx?$/.test(e.name)).map((e) => relative(ROOT, join(e.parentPath, e.name)));
}

/** Static, side-effect and dynamic import specifiers of a file, relative ones resolved to project paths. */
async function importsOf(file: string): Promise<Imports> {
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

/** Each file with the imports `forbidden` picks from it; files without any are left out. */
async function offending(files: string[], forbidden: (imports: Imports) => string[]): Promise<Record<string, string[]>> {
  const found: Record<string, string[]> = {};
  for (const file of files) {
    const picked = forbidden(await importsOf(file));
    if (picked.length > 0) found[file] = picked;
  }
  return found;
}

function layer(path: string): string {
  const match = /^(?:lambdas\/(contract|core|ports|adapters|handlers|entry|wiring)|(web|bin|lib|cost))\//.exec(path);
  return match?.[1] ?? match?.[2] ?? path.split('/')[0]!;
}

const nonNodePackages = ({ packages }: Imports) => packages.filter((p) => !p.startsWith('node:'));

/** Every source file of the deployable tree with its imports (local ones only to files of the tree). */
async function importGraph(): Promise<Map<string, Imports>> {
  const files = (await Promise.all(['lambdas', 'web', 'lib', 'bin', 'cost'].map(sourceFiles))).flat();
  const known = new Set(files);
  const graph = new Map<string, Imports>();
  for (const file of files) {
    const { packages, local } = await importsOf(file);
    graph.set(file, { packages, local: local.filter((p) => known.has(p)) });
  }
  return graph;
}

describe('dependency rule', () => {
  it('keeps core free of SDKs and of every other layer but the port interfaces and the contract', async () => {
    const files = await sourceFiles('lambdas/core');
    expect(await offending(files, nonNodePackages)).toEqual({});
    expect(await offending(files, ({ local }) => local.filter((p) => !['core', 'ports', 'contract'].includes(layer(p))))).toEqual({});
    for (const file of files) {
      const text = await readFile(join(ROOT, file), 'utf8');
      const valueImportsOfPorts = [...text.matchAll(/^import\s+(?!type\b)[^;]*from\s+'[^']*\/ports\/[^']+'/gm)].map((m) => m[0]);
      expect(valueImportsOfPorts, `${file} may use ports only as types`).toEqual([]);
    }
  });

  it('lets ports see only core', async () => {
    const files = await sourceFiles('lambdas/ports');
    expect(await offending(files, nonNodePackages)).toEqual({});
    expect(await offending(files, ({ local }) => local.filter((p) => !['core', 'ports'].includes(layer(p))))).toEqual({});
  });

  it('keeps adapters from reaching up into handlers, entry points, wiring or web', async () => {
    const files = await sourceFiles('lambdas/adapters');
    const upward = ['handlers', 'entry', 'wiring', 'web', 'bin'];
    expect(await offending(files, ({ local }) => local.filter((p) => upward.includes(layer(p))))).toEqual({});
  });

  it('lets handlers, entry points and web reach adapters only through wiring', async () => {
    const files = [...(await sourceFiles('lambdas/handlers')), ...(await sourceFiles('lambdas/entry')), ...(await sourceFiles('web'))];
    expect(await offending(files, ({ local }) => local.filter((p) => layer(p) === 'adapters'))).toEqual({});
  });

  it('keeps the contract free of packages (node: aside) and of every layer but the one error hierarchy', async () => {
    const files = await sourceFiles('lambdas/contract');
    expect(files.length).toBeGreaterThan(3);
    expect(await offending(files, nonNodePackages)).toEqual({});
    expect(await offending(files, ({ local }) => local.filter((p) => layer(p) !== 'contract' && p !== 'lambdas/core/errors.ts'))).toEqual(
      {},
    );
  });

  it('lets lib/, cost/ and the CDK app see of lambdas/ only the contract', async () => {
    const files = [...(await sourceFiles('lib')), ...(await sourceFiles('cost')), 'bin/shadowmail.ts'];
    expect(await offending(files, ({ local }) => local.filter((p) => p.startsWith('lambdas/') && layer(p) !== 'contract'))).toEqual({});
  });

  it('keeps the CDK out of the CLI: nothing `shadowmail` (cost included) loads reaches aws-cdk-lib, a dev dependency', async () => {
    // Prepare
    const graph = await importGraph();
    const reached = new Set<string>();
    const packages = new Set<string>();
    const visit = (file: string): void => {
      if (reached.has(file)) return;
      reached.add(file);
      for (const p of graph.get(file)?.packages ?? []) packages.add(p);
      for (const next of graph.get(file)?.local ?? []) visit(next);
    };

    // Act
    visit('bin/cli.ts');

    // Assess
    expect(reached).toContain('cost/cost-model.ts');
    expect([...packages].filter((p) => /^(aws-cdk-lib|constructs|cdk-nag)(\/|$)/.test(p))).toEqual([]);
  });

  it('lets only the Lambda entry points (and the wiring itself) import the wiring, of lambdas/ and web/', async () => {
    const files = [...(await sourceFiles('lambdas')), ...(await sourceFiles('web'))].filter((f) => !['wiring', 'entry'].includes(layer(f)));
    expect(await offending(files, ({ local }) => local.filter((p) => layer(p) === 'wiring'))).toEqual({});
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

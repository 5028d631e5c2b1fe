// `npm start`: bundles local mode (bin/local.ts and the project's own modules; packages stay
// in node_modules) with esbuild and runs the bundle in this process. Through tsx the same
// code took ~55 MiB more memory (its loader thread and per-file transforms) and twice as
// long to start (bench/README.md, issue 18). Stack traces still name the .ts files: the
// bundle's source map is on.
import { createHash } from 'node:crypto';
import { mkdir, readdir, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { setFlagsFromString } from 'node:v8';

const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const BUILD_DIR = join(PROJECT_ROOT, '.build');
/** A build another process may still be loading is kept this long after its last use. */
const KEEP_OLD_BUILDS_MS = 24 * 3600_000;

/**
 * Builds `entry` (relative to the project root) into .build/<hash of the output>/ and
 * returns the bundle's path. Content-addressed, written under a temporary name and renamed:
 * processes starting at the same moment (the tests start many) never load a half-written
 * file, and a build of the same code is the same file.
 */
export async function buildEntry(entry) {
  const esbuild = await import('esbuild');
  const name = entry.replace(/^.*\//, '').replace(/\.ts$/, '.mjs');
  // The output's depth below the root is the final one's, so the map's relative sources hold.
  const provisional = join(BUILD_DIR, 'pending', name);
  const result = await esbuild.build({
    entryPoints: [join(PROJECT_ROOT, entry)],
    outfile: provisional,
    absWorkingDir: PROJECT_ROOT,
    bundle: true,
    packages: 'external',
    platform: 'node',
    format: 'esm',
    target: 'node20',
    sourcemap: 'linked',
    sourcesContent: false,
    write: false,
    logLevel: 'warning',
  });
  // esbuild's service process would otherwise live (and hold memory) as long as local mode.
  await esbuild.stop();
  const hash = createHash('sha256');
  for (const file of result.outputFiles) hash.update(relative(BUILD_DIR, file.path)).update(file.contents);
  const dir = join(BUILD_DIR, hash.digest('hex').slice(0, 16));
  await mkdir(dir, { recursive: true });
  const suffix = `.${process.pid}.tmp`;
  for (const file of result.outputFiles) {
    const target = join(dir, relative(dirname(provisional), file.path));
    if (await exists(target)) continue;
    await writeFile(target + suffix, file.contents);
    await rename(target + suffix, target);
  }
  // Touched so that the pruning of another start keeps it.
  const now = new Date();
  await utimes(dir, now, now);
  await pruneOldBuilds(dir);
  return join(dir, name);
}

async function exists(path) {
  return stat(path).then(
    () => true,
    () => false,
  );
}

async function pruneOldBuilds(current) {
  for (const entry of await readdir(BUILD_DIR).catch(() => [])) {
    const dir = join(BUILD_DIR, entry);
    if (dir === current) continue;
    const info = await stat(dir).catch(() => null);
    if (info && Date.now() - info.mtimeMs > KEEP_OLD_BUILDS_MS) await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.setSourceMapsEnabled(true);
  // V8 lets the old generation grow to up to 4× what survived the last full collection
  // before it collects again; under a burst that was ~150 MiB of garbage (peak RSS 300 MiB,
  // issue 18 wants ≤ 256). 1.5× holds the peak near 230 MiB for more, short, concurrent
  // collections (bench/README.md). V8 reads this flag at each collection, so setting it
  // here, before anything is allocated in earnest, takes effect.
  setFlagsFromString('--heap-growing-percent=50');
  const bundle = await buildEntry('bin/local.ts');
  await import(pathToFileURL(bundle).href);
}

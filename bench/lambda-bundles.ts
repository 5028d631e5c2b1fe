// The Lambda bundles as deployed: each function's bundle built by the stack's own
// MailFunction (test/support/lambda-bundle.ts), its size and its source map's, and its
// cold import time on this machine — a fresh `node` importing it as Lambda's Node.js
// runtime does (a dynamic import() of the handler's .mjs file,
// https://docs.aws.amazon.com/lambda/latest/dg/lambda-nodejs.html), with and without
// --enable-source-maps (the functions run with it: MAIL_FUNCTION_NODE_OPTIONS). The
// yardstick is `node -e` measured in the same rounds; runs are interleaved so that other
// work on the machine spreads over all of them alike.
import { spawn } from 'node:child_process';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { MAIL_FUNCTION_NODE_OPTIONS, PROJECT_ROOT } from '../lib/constructs/mail-function.ts';
import { buildFunctionBundle } from '../test/support/lambda-bundle.ts';
import { median, percentile, round } from './stats.ts';

export interface ImportTime {
  /** Wall time of the whole process (spawn to exit), milliseconds. */
  wallMs: { p50: number; p90: number };
  /** CPU time (user + system, all threads) of the process up to the end of the import, milliseconds. */
  cpuMs: { p50: number };
  /** Median wall time minus the yardstick's. */
  netMs: number;
  /** Median wall time over the yardstick's. */
  ratioToYardstick: number;
}

export interface BundleFigures {
  entry: string;
  bytes: number;
  mapBytes: number;
  plain: ImportTime;
  sourceMaps: ImportTime;
}

export interface LambdaBundles {
  what: string;
  runs: number;
  yardstick: { command: string; wallMs: { p50: number; p90: number }; cpuMs: { p50: number } };
  bundles: BundleFigures[];
}

interface Sample {
  wallMs: number;
  cpuMs: number;
}

// The child prints its CPU time once the import is done (process.cpuUsage: microseconds).
const REPORT_CPU = 'process.stdout.write(JSON.stringify(process.cpuUsage()))';
const IMPORT_THEN_REPORT = `await import(process.argv[1]); ${REPORT_CPU}`;

/** The handler files the stack bundles: lambdas/entry/*.ts that export `handler`. */
export async function lambdaEntries(): Promise<string[]> {
  const dir = join(PROJECT_ROOT, 'lambdas/entry');
  const entries: string[] = [];
  for (const name of (await readdir(dir)).filter((file) => file.endsWith('.ts')).sort()) {
    if (/export (const|async function|function) handler\b/.test(await readFile(join(dir, name), 'utf8')))
      entries.push(`lambdas/entry/${name}`);
  }
  return entries;
}

function timeProcess(args: string[]): Promise<Sample> {
  const started = process.hrtime.bigint();
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, args, {
      cwd: PROJECT_ROOT,
      // What the bundles read at import (nothing is called): a region, no NODE_OPTIONS of ours.
      env: { PATH: process.env.PATH, AWS_REGION: 'eu-west-1', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      err += chunk.toString();
    });
    child.on('error', fail);
    child.on('close', (code) => {
      const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
      if (code !== 0) return fail(new Error(`node ${args.join(' ')} exited ${code}: ${err.slice(-500)}`));
      const usage = JSON.parse(out) as { user: number; system: number };
      done({ wallMs, cpuMs: (usage.user + usage.system) / 1000 });
    });
  });
}

function summary(samples: Sample[]) {
  const wall = samples.map((s) => s.wallMs);
  return {
    wallMs: { p50: round(median(wall), 1), p90: round(percentile(wall, 90), 1) },
    cpuMs: { p50: round(median(samples.map((s) => s.cpuMs)), 1) },
  };
}

export async function measureLambdaBundles(work: string, runs: number, log: (line: string) => void): Promise<LambdaBundles> {
  const context = (JSON.parse(await readFile(join(PROJECT_ROOT, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> }).context;
  const built: BuiltBundle[] = [];
  for (const entry of await lambdaEntries()) {
    built.push({ entry, file: await buildFunctionBundle(entry, context, work) });
  }
  log(`${built.length} bundles built; ${runs} interleaved rounds of cold imports`);
  return measureBundles(built, runs);
}

export interface BuiltBundle {
  /** What the figures are labelled with (the handler file). */
  entry: string;
  /** The bundle's index.mjs; its source map beside it. */
  file: string;
}

/** Cold import times of bundles already built, in interleaved rounds with the yardstick. */
export async function measureBundles(built: BuiltBundle[], runs: number): Promise<LambdaBundles> {
  const variants: { key: string; args: string[] }[] = [{ key: 'yardstick', args: ['-e', REPORT_CPU] }];
  for (const { entry, file } of built) {
    variants.push({ key: `${entry} plain`, args: ['--input-type=module', '-e', IMPORT_THEN_REPORT, file] });
    variants.push({ key: `${entry} maps`, args: [MAIL_FUNCTION_NODE_OPTIONS, '--input-type=module', '-e', IMPORT_THEN_REPORT, file] });
  }
  const samples = new Map(variants.map((v) => [v.key, [] as Sample[]]));
  for (let round = 0; round < runs; round++) {
    for (const variant of variants) samples.get(variant.key)!.push(await timeProcess(variant.args));
  }
  const yardstick = summary(samples.get('yardstick')!);
  const importTime = (key: string): ImportTime => {
    const s = summary(samples.get(key)!);
    return {
      ...s,
      netMs: round(s.wallMs.p50 - yardstick.wallMs.p50, 1),
      ratioToYardstick: round(s.wallMs.p50 / yardstick.wallMs.p50, 2),
    };
  };
  const bundles: BundleFigures[] = [];
  for (const { entry, file } of built) {
    bundles.push({
      entry,
      bytes: (await stat(file)).size,
      mapBytes: (await stat(`${file}.map`)).size,
      plain: importTime(`${entry} plain`),
      sourceMaps: importTime(`${entry} maps`),
    });
  }
  return {
    what:
      "each function's bundle built by the stack's MailFunction; a fresh node process importing it (dynamic import(), as Lambda's runtime loads an .mjs handler), " +
      `without and with ${MAIL_FUNCTION_NODE_OPTIONS}; wall time spawn → exit; yardstick: node -e in the same interleaved rounds`,
    runs,
    yardstick: { command: 'node -e', ...yardstick },
    bundles,
  };
}

/** The printed lines of this section. */
export function lambdaBundlesSummary(section: LambdaBundles | { skipped: string }): string[] {
  const lines = ['', 'Lambda bundles: size and cold import time (fresh node, median of interleaved runs)'];
  if ('skipped' in section) return [...lines, `  skipped (${section.skipped})`];
  const y = section.yardstick;
  lines.push(`  yardstick node -e: ${y.wallMs.p50} ms (p90 ${y.wallMs.p90}), ${y.cpuMs.p50} CPU ms; ${section.runs} runs each`);
  for (const b of section.bundles) {
    const kb = (bytes: number) => `${round(bytes / 1024, 0)} KiB`;
    const time = (t: ImportTime) =>
      `${t.wallMs.p50} ms (p90 ${t.wallMs.p90}, net ${t.netMs}, ×${t.ratioToYardstick}, ${t.cpuMs.p50} CPU ms)`;
    lines.push(`  ${b.entry}: ${kb(b.bytes)} + map ${kb(b.mapBytes)}; import ${time(b.plain)}; with source maps ${time(b.sourceMaps)}`);
  }
  return lines;
}

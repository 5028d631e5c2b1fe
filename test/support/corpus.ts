// The third-party corpus in ../shared/corpus: its manifest, read once, by kind.
// Only the corpus suite and the bench use it; `npm test` never does.
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';

export const PROJECT_ROOT = resolve(import.meta.dirname, '../..');
export const CORPUS_ROOT = resolve(PROJECT_ROOT, '../shared/corpus');

/** Kinds that are whole messages (an mbox file counts as one message). */
export const MESSAGE_KINDS = ['message', 'xss-message', 'mbox'] as const;

export interface CorpusRow {
  path: string;
  kind: string;
  bytes: number;
  /** Every column of the manifest row by name (features found by the corpus scan). */
  columns: Record<string, string>;
}

export function readCorpusManifest(kinds: readonly string[] = MESSAGE_KINDS, corpusRoot = CORPUS_ROOT): CorpusRow[] {
  const manifest = resolve(corpusRoot, 'MANIFEST.tsv');
  if (!existsSync(manifest)) throw new Error(`corpus manifest not found at ${manifest}`);
  const [header, ...lines] = readFileSync(manifest, 'utf8').split('\n');
  const names = (header ?? '').split('\t');
  for (const required of ['path', 'kind', 'bytes']) {
    if (!names.includes(required)) throw new Error(`MANIFEST.tsv has no ${required} column`);
  }
  return lines
    .filter((line) => line.trim() !== '')
    .map((line) => Object.fromEntries(line.split('\t').map((cell, index) => [names[index] ?? `column${index}`, cell])))
    .map((columns) => ({ path: columns.path ?? '', kind: columns.kind ?? '', bytes: Number(columns.bytes), columns }))
    .filter((row) => kinds.includes(row.kind));
}

// How a record or mailbox entry is stored as one item: a `data` map, or gzipped JSON
// in `dataGz` when the JSON exceeds 64 KB (a message with thousands of attachments).
// If even that exceeds 300 KB the longest lists (attachments, To, Cc, …) are halved
// until it fits: the index is a summary, the raw message in S3 stays complete, and
// failing here would stop the message from ever being forwarded.
import { gunzipSync, gzipSync } from 'node:zlib';
import { InvalidInputError } from '../../core/errors.ts';
import type { MailboxEntry, MessageRecord } from '../../core/model.ts';
import type { Item } from './dynamodb-toolkit.ts';

export const PLAIN_PAYLOAD_MAX_BYTES = 64 * 1024;
export const COMPRESSED_PAYLOAD_MAX_BYTES = 300 * 1024;

export type Payload = { data: unknown } | { dataGz: Uint8Array };

function encodePayload(value: unknown): Payload | null {
  const json = JSON.stringify(value);
  if (Buffer.byteLength(json, 'utf8') <= PLAIN_PAYLOAD_MAX_BYTES) return { data: value };
  const compressed = gzipSync(json);
  return compressed.length <= COMPRESSED_PAYLOAD_MAX_BYTES ? { dataGz: compressed } : null;
}

export function decodePayload<T>(item: Item): T {
  if (item.dataGz instanceof Uint8Array) return JSON.parse(gunzipSync(item.dataGz).toString('utf8')) as T;
  return item.data as T;
}

/** The value as it will be stored (shrunk if it had to be) and its encoding. */
export function fitPayload<T>(value: T, shrink: (copy: T) => boolean): { value: T; payload: Payload } {
  let current = value;
  // Each shrink halves a list or cuts a string, so this ends long before the bound.
  for (let step = 0; step < 200; step += 1) {
    const payload = encodePayload(current);
    if (payload) return { value: current, payload };
    if (step === 0) current = structuredClone(value);
    if (!shrink(current)) break;
  }
  throw new InvalidInputError('index item too large even after shrinking its lists');
}

const MAX_KEPT_STRING = 10_000;

interface Shrinkable {
  size: number;
  shrink(): void;
}

/** Halves the largest list or cuts the largest over-long string; false when nothing is left to cut. */
function shrinkLargest(candidates: Shrinkable[]): boolean {
  const largest = candidates.filter((candidate) => candidate.size > 0).sort((a, b) => b.size - a.size)[0];
  if (!largest) return false;
  largest.shrink();
  return true;
}

function listOf<T extends object, K extends keyof T>(owner: T, key: K): Shrinkable {
  const list = owner[key] as unknown[];
  return {
    size: list.length === 0 ? 0 : JSON.stringify(list).length,
    shrink: () => {
      owner[key] = list.slice(0, Math.floor(list.length / 2)) as T[K];
    },
  };
}

function stringOf<T extends object, K extends keyof T>(owner: T, key: K): Shrinkable {
  const text = owner[key] as string | null;
  return {
    size: text !== null && text.length > MAX_KEPT_STRING ? text.length : 0,
    shrink: () => {
      owner[key] = (text ?? '').slice(0, MAX_KEPT_STRING) as T[K];
    },
  };
}

export function shrinkRecord(record: MessageRecord): boolean {
  const summary = record.summary;
  return shrinkLargest([
    ...(['attachments', 'to', 'cc', 'replyTo', 'references', 'from', 'forwardStamps'] as const).map((key) => listOf(summary, key)),
    ...(['subject', 'snippet', 'inReplyTo', 'messageIdHeader', 'parseError'] as const).map((key) => stringOf(summary, key)),
  ]);
}

export function shrinkEntry(entry: MailboxEntry): boolean {
  return shrinkLargest([
    ...(['attachments', 'to', 'cc', 'from', 'recipients'] as const).map((key) => listOf(entry, key)),
    ...(['subject', 'snippet'] as const).map((key) => stringOf(entry, key)),
  ]);
}

// Reads what the drill's primary (Postfix) has delivered, incrementally: each new
// Maildir file once, only its top header block, for the drill's id header, the envelope
// recipient Postfix saw (X-Original-To: before alias expansion, so info@ shows as
// info@ in alice's Maildir) and the queue id in shadowmail's forward stamp. Other mail
// in the Maildirs (bounces of webmail sends, the webmail's own forwards) has no drill
// id in its top header block and is counted apart.
import { open, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { DeliveredCopy } from './accounting.ts';

export const DRILL_HEADER = 'X-Drill-Id';
const HEAD_BYTES = 16 * 1024;

export interface ScannedCopy extends DeliveredCopy {
  /** The Maildir the file is in (the final mailbox after alias expansion). */
  mailbox: string;
  /** Delivery time: the file's modification time, ms since the epoch. */
  deliveredAtMs: number;
}

export interface OtherCopy {
  mailbox: string;
  file: string;
  subject: string | null;
  deliveredAtMs: number;
}

/** A reader of unfolded fields of the top header block (up to the first empty line). */
function headerReader(head: string): (name: string) => string | null {
  const end = head.search(/\r?\n\r?\n/);
  const block = (end >= 0 ? head.slice(0, end) : head).replace(/\r?\n[ \t]+/g, ' ');
  return (name) => new RegExp(`^${name}:[ \\t]*(.*)$`, 'im').exec(block)?.[1]?.trim() ?? null;
}

/** The fields the drill needs from the top header block of a delivered file, or null without a drill id. */
export function parseDeliveredHead(head: string): { drillId: string; recipient: string | null; queueId: string | null } | null {
  const field = headerReader(head);
  // the first token only: a message whose own first line is indented would be unfolded into it
  const drillId = field(DRILL_HEADER)?.split(/\s/, 1)[0];
  if (!drillId) return null;
  const stamp = field('X-Shadowmail-Forwarded');
  return {
    drillId,
    recipient: field('X-Original-To')?.replace(/^<|>$/g, '').toLowerCase() ?? null,
    queueId: stamp ? (/;\s*id=([^;\s]+)/.exec(stamp)?.[1] ?? null) : null,
  };
}

export class MaildirScanner {
  private readonly seen = new Set<string>();
  readonly copies: ScannedCopy[] = [];
  readonly others: OtherCopy[] = [];

  /** `maildirs`: mailbox name → Maildir path. */
  constructor(private readonly maildirs: Map<string, string>) {}

  /** Reads the files that appeared since the last scan; returns the new drill copies. */
  async scan(): Promise<ScannedCopy[]> {
    const fresh: ScannedCopy[] = [];
    for (const [mailbox, dir] of this.maildirs) {
      for (const sub of ['new', 'cur']) {
        const folder = join(dir, sub);
        let names: string[];
        try {
          names = await readdir(folder);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
          throw error;
        }
        for (const name of names) {
          // a file moved from new/ to cur/ keeps its base name (plus ":2,flags")
          const key = `${mailbox}/${name.split(':')[0]}`;
          if (this.seen.has(key)) continue;
          const path = join(folder, name);
          const { head, mtimeMs } = await readHead(path);
          this.seen.add(key);
          const parsed = parseDeliveredHead(head);
          if (parsed?.recipient) {
            const copy: ScannedCopy = {
              drillId: parsed.drillId,
              recipient: parsed.recipient,
              queueId: parsed.queueId,
              file: path,
              mailbox,
              deliveredAtMs: mtimeMs,
            };
            this.copies.push(copy);
            fresh.push(copy);
          } else {
            this.others.push({ mailbox, file: path, subject: headerReader(head)('Subject'), deliveredAtMs: mtimeMs });
          }
        }
      }
    }
    return fresh;
  }
}

async function readHead(path: string): Promise<{ head: string; mtimeMs: number }> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(HEAD_BYTES);
    const { bytesRead } = await handle.read(buffer, 0, HEAD_BYTES, 0);
    return { head: buffer.subarray(0, bytesRead).toString('latin1'), mtimeMs: (await handle.stat()).mtimeMs };
  } finally {
    await handle.close();
  }
}

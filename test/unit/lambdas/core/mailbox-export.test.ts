// exportMailbox: a mailbox's messages in a window as files of an archive — the stored
// bytes unchanged, one folder per mailbox folder, safe and unique names, quarantined
// mail only when asked for, TTL-filtered as every read, audited as mailbox.export, and
// the archive committed only when all of it (and the audit entry) was written.
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { AuditWriteError } from '../../../../lambdas/core/audit.ts';
import { InvalidInputError, NotFoundError } from '../../../../lambdas/core/errors.ts';
import { exportMailbox, type MailboxExportInput } from '../../../../lambdas/core/mailbox-export.ts';
import type { MailboxEntry, MessageRecord, RawLocation } from '../../../../lambdas/core/model.ts';
import { hasAsciiControls } from '../../../../lambdas/core/text.ts';
import { EXPIRED, makeEntry, makeRecord, minutesAgo, NOW } from '../../../support/index-contract/fixtures.ts';
import { ManualClock, MemoryRawMailStore } from '../../../support/memory-adapters.ts';
import { MemoryMessageArchive } from '../../../support/memory-message-archive.ts';
import { MemoryMessageIndex } from '../../../support/memory-message-index.ts';
import { MemoryAuditLog } from '../../../support/memory-resend.ts';

const ALICE = 'alice@corp.test';
const ACTOR = 'cli:ops@admin-host';

function world() {
  const index = new MemoryMessageIndex();
  const rawStore = new MemoryRawMailStore();
  const audit = new MemoryAuditLog();
  const archive = new MemoryMessageArchive();
  const clock = new ManualClock(NOW.toISOString());
  /** Stores a message with its raw bytes and files it in `mailbox`. */
  const put = async (
    id: string,
    options: { mailbox?: string; entry?: Partial<MailboxEntry>; record?: Partial<MessageRecord>; raw?: string | null } = {},
  ) => {
    const receivedAt = options.entry?.receivedAt ?? minutesAgo(10);
    const record = makeRecord(id, { receivedAt, ...options.record });
    await index.putMessage(record);
    await index.putMailboxEntry(makeEntry(options.mailbox ?? ALICE, id, { receivedAt, ...options.entry }));
    const raw = options.raw === undefined ? `Message-ID: <${id}@ext.example>\r\nSubject: ${id}\r\n\r\nbody of ${id}\r\n` : options.raw;
    if (raw !== null) rawStore.put(record.raw, raw);
    return raw;
  };
  const run = (input: Partial<MailboxExportInput> = {}) =>
    exportMailbox(
      ACTOR,
      { mailbox: ALICE, destination: '/tmp/alice.zip', ...input },
      {
        index,
        rawStore,
        audit,
        clock,
        openArchive: archive.open,
      },
    );
  return { index, rawStore, audit, archive, put, run };
}

describe('exportMailbox', () => {
  it("writes every folder's messages byte for byte under <folder>/<time> <subject> <id>.eml, nothing of other mailboxes or expired, and audits who exported what", async () => {
    // Prepare
    const w = world();
    const inboxRaw = await w.put('ses-in-0000001', { entry: { subject: 'Quarterly numbers', receivedAt: '2030-03-01T08:05:09.000Z' } });
    const sentRaw = await w.put('ses-sent-000002', {
      entry: { folder: 'sent', subject: 'Re: Quarterly numbers', receivedAt: '2030-03-01T09:30:00.000Z' },
    });
    const deletedRaw = await w.put('ses-del-0000003', {
      entry: { folder: 'deleted', subject: 'Old news', receivedAt: '2030-02-27T23:59:00.000Z' },
    });
    await w.put('ses-bob-0000004', { mailbox: 'bob@corp.test' });
    await w.put('ses-old-0000005', { entry: { expiresAt: EXPIRED }, record: { expiresAt: EXPIRED } });

    // Act
    const result = await w.run();

    // Assess
    expect(w.archive.state).toBe('committed');
    expect(w.archive.files.map((file) => [file.path, file.bytes.toString(), file.modifiedAt.toISOString()])).toEqual([
      ['inbox/2030-03-01 0805 Quarterly numbers n0000001.eml', inboxRaw, '2030-03-01T08:05:09.000Z'],
      ['sent/2030-03-01 0930 Re_ Quarterly numbers nt000002.eml', sentRaw, '2030-03-01T09:30:00.000Z'],
      ['deleted/2030-02-27 2359 Old news l0000003.eml', deletedRaw, '2030-02-27T23:59:00.000Z'],
    ]);
    expect(result).toMatchObject({
      mailbox: ALICE,
      folders: ['inbox', 'sent', 'deleted'],
      exported: 3,
      missing: [],
      quarantinedLeftOut: 0,
    });
    expect(w.audit.events).toHaveLength(1);
    expect(w.audit.events[0]).toMatchObject({
      actor: ACTOR,
      action: 'mailbox.export',
      target: ALICE,
      outcome: 'ok',
      details: {
        folder: 'all',
        since: null,
        until: null,
        includeQuarantined: false,
        destination: '/tmp/alice.zip',
        mailbox: ALICE,
        exported: 3,
      },
    });
  });

  it('takes messages received in [since, until) of the folder asked for, and an alias names its mailbox', async () => {
    // Prepare
    const w = world();
    await w.index.putAddresses([{ address: 'info@corp.test', mailbox: ALICE }]);
    await w.put('ses-before-00001', { entry: { receivedAt: '2030-02-28T23:59:59.999Z' } });
    await w.put('ses-atsince-0002', { entry: { receivedAt: '2030-03-01T00:00:00.000Z' } });
    await w.put('ses-inside-00003', { entry: { receivedAt: '2030-03-01T06:00:00.000Z' } });
    await w.put('ses-atuntil-0004', { entry: { receivedAt: '2030-03-01T08:00:00.000Z' } });
    await w.put('ses-sent-inside5', { entry: { folder: 'sent', receivedAt: '2030-03-01T07:00:00.000Z' } });

    // Act
    const result = await w.run({ mailbox: 'Info@Corp.test', folder: 'inbox', since: '2030-03-01', until: '2030-03-01T08:00:00Z' });

    // Assess
    expect(result.mailbox).toBe(ALICE);
    expect(w.archive.files.map((file) => file.path.split(' ').at(-1))).toEqual(['ide00003.eml', 'ince0002.eml']);
    expect(result).toMatchObject({ since: '2030-03-01T00:00:00.000Z', until: '2030-03-01T08:00:00.000Z', folders: ['inbox'] });
  });

  it('leaves quarantined messages out unless asked, and says how many; asked for, they go under quarantined/<folder>/', async () => {
    // Prepare
    const w = world();
    await w.put('ses-clean-000001');
    await w.put('ses-quar-0000002', { entry: { visibility: 'quarantined', subject: 'Invoice' }, record: { visibility: 'quarantined' } });
    const second = world();
    await second.put('ses-clean-000001');
    await second.put('ses-quar-0000002', {
      entry: { visibility: 'quarantined', subject: 'Invoice' },
      record: { visibility: 'quarantined' },
    });

    // Act
    const without = await w.run();
    const withFlag = await second.run({ includeQuarantined: true });

    // Assess
    expect(without).toMatchObject({ exported: 1, quarantinedLeftOut: 1, quarantinedIncluded: 0 });
    expect(w.archive.files.map((file) => file.path)).toEqual([expect.stringMatching(/^inbox\/.* an000001\.eml$/)]);
    expect(withFlag).toMatchObject({ exported: 2, quarantinedLeftOut: 0, quarantinedIncluded: 1 });
    expect(second.archive.files.map((file) => file.path)).toContain('quarantined/inbox/2030-03-01 1150 Invoice r0000002.eml');
    expect(second.audit.events[0]?.details).toMatchObject({ includeQuarantined: true, quarantinedIncluded: 1 });
  });

  it('names hostile subjects safely (../, CON, bidi, 300 characters) and keeps names unique, also case-insensitively', async () => {
    // Prepare
    const w = world();
    const at = '2030-03-01T10:00:00.000Z';
    await w.put('ses-aaaa-traverse', { entry: { receivedAt: at, subject: '../../../etc/passwd' } });
    await w.put('ses-aaaa-device01', { entry: { receivedAt: at, subject: 'CON' } });
    await w.put('ses-aaaa-bidi0001', { entry: { receivedAt: at, subject: 'invoice\u202efdp.exe' } });
    await w.put('ses-aaaa-long0001', { entry: { receivedAt: at, subject: 'L'.repeat(300) } });
    // Same minute, same subject and the same last 8 id characters (in another case): the second listed gets the whole id.
    await w.put('ses-one-SAMETAIL', { entry: { receivedAt: at, subject: 'Same' } });
    await w.put('ses-two-sametail', { entry: { receivedAt: at, subject: 'same' } });

    // Act
    await w.run();

    // Assess
    const paths = w.archive.files.map((file) => file.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        'inbox/2030-03-01 1000 _.._.._etc_passwd traverse.eml',
        'inbox/2030-03-01 1000 _CON device01.eml',
        'inbox/2030-03-01 1000 invoicefdp.exe bidi0001.eml',
        `inbox/2030-03-01 1000 ${'L'.repeat(60)} long0001.eml`,
      ]),
    );
    const lowered = paths.map((path) => path.toLowerCase());
    expect(new Set(lowered).size).toBe(paths.length);
    expect(paths.filter((path) => /sametail\.eml$/i.test(path)).sort()).toEqual([
      'inbox/2030-03-01 1000 Same sesoneSAMETAIL.eml',
      'inbox/2030-03-01 1000 same sametail.eml',
    ]);
    for (const path of paths) {
      expect(path.split('/')).toHaveLength(2);
      expect(path).not.toMatch(/[\u202a-\u202e\u2066-\u2069\\:*?"<>|]/);
      expect(hasAsciiControls(path)).toBe(false);
    }
  });

  it('answers an unknown mailbox with NotFoundError, opens no archive and records the attempt', async () => {
    // Prepare
    const w = world();
    await w.put('ses-bob-0000001', { mailbox: 'bob@corp.test' });

    // Act
    const error = await w.run({ mailbox: 'nobody@corp.test' }).catch((caught: unknown) => caught);

    // Assess
    expect(error).toBeInstanceOf(NotFoundError);
    expect((error as Error).message).toBe('no mailbox nobody@corp.test: the directory does not know it and no mail is kept for it');
    expect(w.archive.opened).toBe(0);
    expect(w.audit.events[0]).toMatchObject({ action: 'mailbox.export', target: 'nobody@corp.test', outcome: 'error' });
  });

  it('answers an empty window with NotFoundError that says what was left out, and opens no archive', async () => {
    // Prepare
    const w = world();
    await w.index.putAddresses([{ address: ALICE, mailbox: ALICE }]);
    await w.put('ses-quar-0000001', { entry: { visibility: 'quarantined' }, record: { visibility: 'quarantined' } });
    const empty = world();
    await empty.index.putAddresses([{ address: ALICE, mailbox: ALICE }]);

    // Act
    const quarantinedOnly = await w.run().catch((caught: unknown) => caught);
    const nothing = await empty.run({ folder: 'sent', since: '2030-01-01', until: '2030-02-01' }).catch((caught: unknown) => caught);

    // Assess
    expect(quarantinedOnly).toBeInstanceOf(NotFoundError);
    expect((quarantinedOnly as Error).message).toBe(
      `no messages to export in inbox, sent, deleted of ${ALICE} from the oldest kept until now (1 quarantined left out (--include-quarantined)): nothing written`,
    );
    expect((nothing as Error).message).toBe(
      `no messages to export in sent of ${ALICE} from 2030-01-01T00:00:00.000Z until 2030-02-01T00:00:00.000Z: nothing written`,
    );
    expect([w.archive.opened, empty.archive.opened]).toEqual([0, 0]);
  });

  it('skips a message whose raw bytes are gone and reports it; the others are exported', async () => {
    // Prepare
    const w = world();
    await w.put('ses-present-0001');
    await w.put('ses-gone-0000002', { raw: null });

    // Act
    const result = await w.run();

    // Assess
    expect(result).toMatchObject({ exported: 1, missing: ['ses-gone-0000002'] });
    expect(w.archive.state).toBe('committed');
    expect(w.audit.events[0]?.details).toMatchObject({ missing: 1 });
  });

  it('aborts the archive when a body fails half-way, records the error and commits nothing', async () => {
    // Prepare
    const w = world();
    await w.put('ses-first-000001', { entry: { receivedAt: minutesAgo(1) } });
    await w.put('ses-broken-00002', { entry: { receivedAt: minutesAgo(2) } });
    const open = w.rawStore.open.bind(w.rawStore);
    w.rawStore.open = async (location: RawLocation) => {
      if (!location.key.includes('broken')) return open(location);
      return Readable.from(
        (async function* () {
          yield Buffer.from('Subject: half\r\n');
          throw new Error('connection reset by S3');
        })(),
      );
    };

    // Act
    const error = await w.run().catch((caught: unknown) => caught);

    // Assess
    expect((error as Error).message).toBe('connection reset by S3');
    expect(w.archive.state).toBe('aborted');
    expect(w.audit.events[0]).toMatchObject({ action: 'mailbox.export', outcome: 'error' });
  });

  it('lets go of the opened body when the archive cannot be opened, and records the error', async () => {
    // Prepare
    const w = world();
    await w.put('ses-any-00000001');
    const opened: Readable[] = [];
    const open = w.rawStore.open.bind(w.rawStore);
    w.rawStore.open = async (location: RawLocation) => {
      const body = await open(location);
      opened.push(body);
      return body;
    };

    // Act
    const error = await exportMailbox(
      ACTOR,
      { mailbox: ALICE, destination: '/read-only/alice.zip' },
      {
        index: w.index,
        rawStore: w.rawStore,
        audit: w.audit,
        clock: new ManualClock(NOW.toISOString()),
        openArchive: async () => {
          throw new Error('EACCES: permission denied');
        },
      },
    ).catch((caught: unknown) => caught);

    // Assess
    expect((error as Error).message).toBe('EACCES: permission denied');
    expect(opened.map((body) => body.destroyed)).toEqual([true]);
    expect(w.audit.events[0]).toMatchObject({ action: 'mailbox.export', outcome: 'error' });
  });

  it('does not commit an archive whose audit entry cannot be written', async () => {
    // Prepare
    const w = world();
    await w.put('ses-any-00000001');
    w.audit.failNext = 3;

    // Act
    const error = await w.run().catch((caught: unknown) => caught);

    // Assess
    expect(error).toBeInstanceOf(AuditWriteError);
    expect(w.archive.state).toBe('aborted');
  });

  it.each([
    [{ mailbox: 'not an address' }, 'the mailbox must be an address, not "not an address"'],
    [{ folder: 'spam' }, 'the folder must be one of inbox, sent, all, not "spam"'],
    [{ since: 'yesterday' }, 'since is not a time (ISO 8601, e.g. 2030-03-01T00:00:00Z)'],
    [{ since: '2030-03-02', until: '2030-03-01' }, 'since must be before until'],
  ])('refuses %o with one clear line, opening nothing', async (input, message) => {
    // Prepare
    const w = world();
    await w.put('ses-any-00000001');

    // Act
    const error = await w.run(input).catch((caught: unknown) => caught);

    // Assess
    expect(error).toBeInstanceOf(InvalidInputError);
    expect((error as Error).message).toBe(message);
    expect(w.archive.opened).toBe(0);
  });
});

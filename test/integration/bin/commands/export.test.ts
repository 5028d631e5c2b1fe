// `shadowmail export` against local mode's store (the SQLite file in the data directory and the
// raw files, as `npm start` leaves them), run in-process through bin/cli.ts, the zip read
// back with a real reader (Info-ZIP's unzip): bytes equal, names safe for hostile
// subjects; an existing --out, an unknown mailbox, an empty window and bad flags each
// answered with one line and nothing written; every export in the audit log.
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../../../bin/cli.ts';
import { FsRawMailStore } from '../../../../lambdas/adapters/local/fs-raw-mail-store.ts';
import type { MailboxEntry, MessageRecord } from '../../../../lambdas/core/model.ts';
import type { AuditEvent } from '../../../../lambdas/ports/audit-log.ts';
import { localPaths, prepareDataDir } from '../../../../lambdas/wiring/local-data-dir.ts';
import { runCli } from '../../../support/cli-run.ts';
import { makeEntry, makeRecord } from '../../../support/index-contract/fixtures.ts';
import { withDataDirStore } from '../../../support/local-store.ts';
import { zipNames as names, unzip } from '../../../support/unzip.ts';

const ALICE = 'alice@example.com';
const LIVE = Math.floor(Date.now() / 1000) + 20 * 86_400;

interface Stored {
  id: string;
  raw: Buffer;
}

describe('shadowmail export (local mode)', () => {
  let dataDir: string;
  let outDir: string;
  const stored = new Map<string, Stored>();

  const auditEvents = () =>
    withDataDirStore(dataDir, async ({ audit }) => {
      const window = { since: new Date(Date.now() - 3_600_000).toISOString(), until: new Date(Date.now() + 60_000).toISOString() };
      return (await audit.list({ ...window, action: 'mailbox.export', limit: 100 })).events;
    });

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'shadowmail-export-data-'));
    outDir = await mkdtemp(join(tmpdir(), 'shadowmail-export-out-'));
    const paths = localPaths(dataDir);
    await prepareDataDir(paths);
    const rawStore = new FsRawMailStore(paths.raw);
    const messages: Array<{ id: string; mailbox?: string; entry: Partial<MailboxEntry>; record?: Partial<MessageRecord> }> = [
      { id: 'local-inbox-travers', entry: { subject: '../../Windows/win.ini', receivedAt: '2026-11-30T08:00:00.000Z' } },
      { id: 'local-inbox-device1', entry: { subject: 'CON', receivedAt: '2026-11-30T09:00:00.000Z' } },
      { id: 'local-inbox-bidi001', entry: { subject: 'Rechnung \u202Efdp.exe', receivedAt: '2026-11-30T10:00:00.000Z' } },
      { id: 'local-inbox-long001', entry: { subject: `Lang ${'ü'.repeat(300)}`, receivedAt: '2026-11-30T11:00:00.000Z' } },
      { id: 'local-sent-reply01', entry: { folder: 'sent', subject: 'Re: Angebot', receivedAt: '2026-12-01T12:00:00.000Z' } },
      { id: 'local-del-old00001', entry: { folder: 'deleted', subject: 'Newsletter', receivedAt: '2026-12-02T07:00:00.000Z' } },
      {
        id: 'local-quarantine01',
        entry: { subject: 'Invoice', receivedAt: '2026-12-02T08:00:00.000Z', visibility: 'quarantined' },
        record: { visibility: 'quarantined' },
      },
      { id: 'local-bob-000001', mailbox: 'bob@example.com', entry: { receivedAt: '2026-12-01T08:00:00.000Z' } },
    ];
    await withDataDirStore(dataDir, async ({ index }) => {
      for (const [n, message] of messages.entries()) {
        const raw = Buffer.from(
          `Message-ID: <${message.id}@example.org>\r\nSubject: ${message.entry.subject ?? ''}\r\n\r\nBody ${n} \u00e4\u00f6\u00fc\r\n`,
          'latin1',
        );
        const record = makeRecord(message.id, {
          receivedAt: message.entry.receivedAt!,
          expiresAt: LIVE,
          raw: { bucket: 'local', key: `raw/${message.id}` },
          ...message.record,
        });
        await index.putMessage(record);
        await index.putMailboxEntry(makeEntry(message.mailbox ?? ALICE, message.id, { expiresAt: LIVE, ...message.entry }));
        await rawStore.put(record.raw, raw);
        stored.set(message.id, { id: message.id, raw });
      }
    });
  });

  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
    await rm(outDir, { recursive: true, force: true });
  });

  it('writes every folder of the mailbox as .eml files that unzip extracts byte for byte, with safe names; says what was left out; audited', async () => {
    // Prepare
    const out = join(outDir, 'alice.zip');

    // Act
    const result = await runCli('export', '--mailbox', 'Alice@Example.com', '--out', out, '--data-dir', dataDir);

    // Assess
    expect(result.err).toBe('');
    expect(result.code).toBe(0);
    expect(result.out).toMatch(
      new RegExp(
        `^wrote ${out} \\(\\d+ bytes\\): 6 messages of ${ALICE}, inbox, sent, deleted, everything kept\\n1 quarantined left out \\(--include-quarantined adds them under quarantined/\\)\\n$`,
      ),
    );
    const listed = await names(out);
    expect(listed).toEqual([
      `inbox/2026-11-30 1100 Lang ${'ü'.repeat(55)} xlong001.eml`,
      'inbox/2026-11-30 1000 Rechnung fdp.exe xbidi001.eml',
      'inbox/2026-11-30 0900 _CON xdevice1.eml',
      'inbox/2026-11-30 0800 _.._Windows_win.ini xtravers.eml',
      'sent/2026-12-01 1200 Re_ Angebot treply01.eml',
      'deleted/2026-12-02 0700 Newsletter old00001.eml',
    ]);
    const ids = [
      'local-inbox-long001',
      'local-inbox-bidi001',
      'local-inbox-device1',
      'local-inbox-travers',
      'local-sent-reply01',
      'local-del-old00001',
    ];
    for (const [i, name] of listed.entries()) expect(await unzip('-p', out, name)).toEqual(stored.get(ids[i]!)!.raw);
    expect((await unzip('-tq', out)).toString()).toMatch(/No errors detected/);
    expect((await stat(out)).mode & 0o777).toBe(0o600);
    expect((await auditEvents()).at(0)).toMatchObject({
      actor: `cli:${userInfo().username}`.toLowerCase(),
      action: 'mailbox.export',
      target: 'alice@example.com',
      outcome: 'ok',
      details: { folder: 'all', destination: out, exported: 6, mailbox: ALICE, includeQuarantined: false },
    } satisfies Partial<AuditEvent> & { details: object });
  });

  it('takes only the folder and window asked for, and the quarantined message under quarantined/ when asked', async () => {
    // Prepare
    const inboxOut = join(outDir, 'window.zip');
    const quarantineOut = join(outDir, 'quarantine.zip');

    // Act
    const window = await runCli(
      'export',
      '--mailbox',
      ALICE,
      '--folder',
      'inbox',
      '--since',
      '2026-11-30T09:00:00Z',
      '--until',
      '2026-11-30T11:00:00Z',
      '--out',
      inboxOut,
      '--data-dir',
      dataDir,
    );
    const quarantine = await runCli(
      'export',
      '--mailbox',
      ALICE,
      '--since',
      '2026-12-02',
      '--include-quarantined',
      '--out',
      quarantineOut,
      '--data-dir',
      dataDir,
    );

    // Assess
    expect(window.code).toBe(0);
    expect(await names(inboxOut)).toEqual([
      'inbox/2026-11-30 1000 Rechnung fdp.exe xbidi001.eml',
      'inbox/2026-11-30 0900 _CON xdevice1.eml',
    ]);
    expect(quarantine.code).toBe(0);
    expect(quarantine.out).toContain('1 quarantined (SES found a virus) included under quarantined/: open them with care');
    expect(await names(quarantineOut)).toEqual([
      'quarantined/inbox/2026-12-02 0800 Invoice antine01.eml',
      'deleted/2026-12-02 0700 Newsletter old00001.eml',
    ]);
  });

  it('refuses an existing --out in one line and leaves it as it was; --force replaces it', async () => {
    // Prepare
    const out = join(outDir, 'existing.zip');
    await writeFile(out, 'an earlier export');

    // Act
    const refused = await runCli('export', '--mailbox', ALICE, '--out', out, '--data-dir', dataDir);
    const contentAfterRefusal = await readFile(out, 'utf8');
    const forced = await runCli('export', '--mailbox', ALICE, '--folder', 'sent', '--out', out, '--force', '--data-dir', dataDir);

    // Assess
    expect(refused.code).toBe(2);
    expect(refused.err).toBe(`shadowmail export: ${out} exists: nothing written (--force replaces it)\n`);
    expect(contentAfterRefusal).toBe('an earlier export');
    expect(forced.code).toBe(0);
    expect(await names(out)).toEqual(['sent/2026-12-01 1200 Re_ Angebot treply01.eml']);
  });

  it('answers an unknown mailbox and an empty window with one line, exit 2, and writes nothing', async () => {
    // Prepare
    const dir = await mkdtemp(join(outDir, 'nothing-'));

    // Act
    const unknown = await runCli('export', '--mailbox', 'nobody@example.com', '--out', join(dir, 'a.zip'), '--data-dir', dataDir);
    const empty = await runCli(
      'export',
      '--mailbox',
      ALICE,
      '--since',
      '2026-01-01',
      '--until',
      '2026-02-01',
      '--out',
      join(dir, 'b.zip'),
      '--data-dir',
      dataDir,
    );

    // Assess
    expect(unknown.code).toBe(2);
    expect(unknown.err).toBe(
      'shadowmail export: no mailbox nobody@example.com: the directory does not know it and no mail is kept for it\n',
    );
    expect(empty.code).toBe(2);
    expect(empty.err).toBe(
      `shadowmail export: no messages to export in inbox, sent, deleted of ${ALICE} from 2026-01-01T00:00:00.000Z until 2026-02-01T00:00:00.000Z: nothing written\n`,
    );
    expect(await readdir(dir)).toEqual([]);
    expect((await auditEvents()).filter((event) => event.outcome === 'error').map((event) => event.target)).toEqual(
      expect.arrayContaining(['nobody@example.com', ALICE]),
    );
  });

  it('on Ctrl-C half-way leaves nothing: no zip, no temporary file; exit 130 and the attempt audited', async () => {
    // Prepare
    const dir = await mkdtemp(join(outDir, 'interrupted-'));
    const out = new PassThrough();
    // A terminal, so the command writes progress: the first progress line is where Ctrl-C comes.
    const err = Object.assign(new PassThrough(), { isTTY: true });
    let errText = '';
    err.on('data', (chunk: Buffer) => {
      errText += chunk.toString();
      if (errText.includes('exporting: 1 messages')) process.emit('SIGINT');
    });

    // Act
    const code = await main(['export', '--mailbox', ALICE, '--out', join(dir, 'half.zip'), '--data-dir', dataDir], out, err);

    // Assess
    expect(code).toBe(130);
    expect(errText).toContain(`shadowmail export: interrupted: nothing written to ${join(dir, 'half.zip')}`);
    expect(await readdir(dir)).toEqual([]);
    expect((await auditEvents()).at(0)).toMatchObject({
      target: ALICE,
      outcome: 'error',
      details: { error: 'ABORTED: the export was aborted' },
    });
  });

  it.each([
    [['--out', 'x.zip'], 'give --mailbox'],
    [['--mailbox', ALICE], 'give --out FILE.zip'],
    [['--mailbox', ALICE, '--out', 'x.tar'], '--out must name a .zip file, not "x.tar"'],
    [['--mailbox', ALICE, '--out', 'x.zip', '--folder', 'spam'], '--folder must be one of inbox, sent, all, not "spam"'],
    [['--mailbox', ALICE, '--out', 'x.zip', '--region', 'eu-west-1'], '--region goes with --stack'],
  ])('answers %j with its line and the usage, exit 2', async (args, line) => {
    // Act
    const result = await runCli('export', ...args);

    // Assess
    expect(result.code).toBe(2);
    expect(result.err.split('\n').slice(0, 2)).toEqual([`shadowmail export: ${line}`, 'usage:']);
  });

  it('answers bad times and a missing directory with one line, and --help with the usage', async () => {
    // Act
    const badTime = await runCli(
      'export',
      '--mailbox',
      ALICE,
      '--since',
      'yesterday',
      '--out',
      join(outDir, 'c.zip'),
      '--data-dir',
      dataDir,
    );
    const noDir = await runCli('export', '--mailbox', ALICE, '--out', join(outDir, 'missing', 'd.zip'), '--data-dir', dataDir);
    const help = await runCli('export', '--help');

    // Assess
    expect(badTime.code).toBe(2);
    expect(badTime.err).toBe('shadowmail export: since is not a time (ISO 8601, e.g. 2030-03-01T00:00:00Z)\n');
    expect(noDir.code).toBe(2);
    expect(noDir.err).toBe(
      `shadowmail export: cannot write ${join(outDir, 'missing', 'd.zip')}: ${join(outDir, 'missing')} is not a directory\n`,
    );
    expect(help.code).toBe(0);
    for (const flag of [
      '--mailbox',
      '--out',
      '--since',
      '--until',
      '--folder',
      '--include-quarantined',
      '--force',
      '--data-dir',
      '--stack',
      '--region',
    ])
      expect(help.out).toContain(flag);
  });
});

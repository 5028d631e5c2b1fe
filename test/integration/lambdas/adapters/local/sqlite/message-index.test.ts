// The SQLite message index (local mode's embedded store) against the shared MessageIndex
// and PendingRecipients contracts, on a file as local mode opens it and in memory, plus
// what only an embedded file store has to show: purging expired rows (no TTL sweeper),
// the search budget, reopening the file, two connections (the running stack and a CLI
// command) and two processes on one file, a SIGKILL mid-write, and query plans. (The
// recipients merge of a repeated put is in the shared records contract.)
import { type ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type LocalDatabase, openLocalDatabase } from '../../../../../../lambdas/adapters/local/sqlite/database.ts';
import { SqliteDirectoryStore } from '../../../../../../lambdas/adapters/local/sqlite/directory-store.ts';
import { SqliteMessageIndex } from '../../../../../../lambdas/adapters/local/sqlite/message-index.ts';
import { SqlitePendingRecipients } from '../../../../../../lambdas/adapters/local/sqlite/pending-recipients.ts';
import {
  allSearchPages,
  attempt,
  daysAgo,
  EXPIRED,
  makeEntry,
  makeRecord,
  makeState,
  NOW,
  NOW_SECONDS,
  putReceived,
  searchIds,
} from '../../../../../support/index-contract/fixtures.ts';
import { describeMessageIndexContract } from '../../../../../support/message-index-contract.ts';
import { describePendingRecipientsContract } from '../../../../../support/pending-recipients-contract.ts';
import { freshSqliteFile, type SqliteStoreFile } from '../../../../../support/sqlite-store.ts';

const CHILD = resolve(import.meta.dirname, '../../../../../support/sqlite-index-child.ts');
/** Gates (and attempts) per child: enough that the two overlap for a good while. */
const RACE_COUNT = 150;

/** A child's output: `ready` once it printed its first line, `done` with all of it when it exited 0. */
function collect(child: ChildProcess): { ready: Promise<void>; done: Promise<{ stdout: string; stderr: string }> } {
  let stdout = '';
  let stderr = '';
  let markReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => {
    markReady = resolve;
  });
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
    if (stdout.includes('ready\n')) markReady();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  const done = new Promise<{ stdout: string; stderr: string }>((resolve, reject) => {
    child.on('exit', (code) => (code === 0 ? resolve({ stdout, stderr }) : reject(new Error(`child exited ${code}: ${stderr}`))));
  });
  return { ready: Promise.race([ready, done.then(() => undefined)]), done };
}

/** A fresh store file per test, its connections closed and the file removed afterwards. */
function useStoreFile(): () => SqliteStoreFile {
  let file: SqliteStoreFile | undefined;
  beforeEach(() => {
    file = freshSqliteFile();
  });
  afterEach(async () => {
    await file?.cleanup();
  });
  return () => {
    if (!file) throw new Error('no store file');
    return file;
  };
}

describe('SqliteMessageIndex', () => {
  const storeFile = useStoreFile();

  describeMessageIndexContract('SQLite file', async () => {
    const db = storeFile().open();
    return { index: new SqliteMessageIndex(db), addresses: new SqliteDirectoryStore(db) };
  });

  describeMessageIndexContract('SQLite in memory, 3 rows per search call', async () => {
    const db = openLocalDatabase(':memory:');
    return {
      index: new SqliteMessageIndex(db, { searchBudget: 3 }),
      addresses: new SqliteDirectoryStore(db),
      cleanup: async () => void db.close(),
    };
  });

  describePendingRecipientsContract('SQLite', async () => ({ pending: new SqlitePendingRecipients(storeFile().open()) }));
});

describe('SqliteMessageIndex on one file', () => {
  const storeFile = useStoreFile();
  const open = (): { db: LocalDatabase; index: SqliteMessageIndex } => {
    const db = storeFile().open();
    return { db, index: new SqliteMessageIndex(db) };
  };

  describe('purgeExpired', () => {
    it('deletes the expired rows of every role and keeps the live ones', async () => {
      // Prepare
      const { db, index } = open();
      for (const [id, expiresAt] of [
        ['live', NOW_SECONDS + 60],
        ['gone', NOW_SECONDS],
      ] as const) {
        await putReceived(index, makeRecord(id, { expiresAt }));
        await index.putMailboxEntry(makeEntry('alice@corp.test', id, { expiresAt }));
        await index.setPendingRecipients(id, 1, expiresAt);
      }
      await index.acquireOnce('enqueue#old', 'worker-a', new Date((NOW_SECONDS - 31 * 86_400) * 1000), 60_000);
      await index.acquireOnce('enqueue#new', 'worker-a', NOW, 60_000);
      const rows = () =>
        ['message', 'message_lookup', 'mailbox_entry', 'delivery', 'once_gate', 'pending_recipients'].map(
          (table) => (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n,
        );
      const before = rows();
      // Act
      const purged = await index.purgeExpired(NOW);
      // Assess
      const after = rows();
      expect(after).toEqual([1, 3, 1, 1, 1, 1]);
      expect(purged).toBe(before.reduce((a, b) => a + b, 0) - after.reduce((a, b) => a + b, 0));
      expect(await index.getMessage('live', NOW)).not.toBeNull();
      expect(await index.getMailboxEntry('alice@corp.test', 'live', NOW)).not.toBeNull();
      expect(await index.getDeliveryStates('live', NOW)).toHaveLength(1);
      expect(await index.countPendingRecipients(NOW)).toBe(1);
      expect(await index.acquireOnce('enqueue#new', 'worker-b', NOW, 60_000)).toBe('busy');
      expect(await index.acquireOnce('enqueue#old', 'worker-b', NOW, 60_000)).toBe('acquired');
      // Gone, not hidden: a read at a time before it expired finds nothing either.
      expect(await open().index.getMessage('gone', new Date((NOW_SECONDS - 1) * 1000))).toBeNull();
    });
  });

  describe('the search budget', () => {
    it('answers a search whose matches lie beyond the budget with short pages and cursors that find them all', async () => {
      // Prepare: 12 received messages, the only matches the two oldest
      const index = new SqliteMessageIndex(storeFile().open(), { searchBudget: 4 });
      for (let i = 0; i < 12; i += 1) {
        const subject = i < 2 ? `Wanted ${i}` : `Noise ${i}`;
        await putReceived(index, makeRecord(`b${String(i).padStart(2, '0')}`, { receivedAt: daysAgo(1, 60 - i), summary: { subject } }));
      }
      // Act
      const pages = await allSearchPages(index, { since: daysAgo(2), until: NOW.toISOString(), subject: 'wanted', limit: 10 });
      // Assess
      expect(searchIds(pages)).toEqual(['b01', 'b00']);
      expect(pages[0]).toMatchObject({ messages: [] });
      expect(pages[0]?.nextCursor).not.toBeNull();
    });
  });

  describe('the file', () => {
    it('keeps records, entries, states, gates and counts across closing and reopening', async () => {
      // Prepare
      const first = open();
      await putReceived(first.index, makeRecord('m-kept', { envelopeRecipients: ['alice@corp.test'] }));
      await first.index.putMailboxEntry(makeEntry('alice@corp.test', 'm-kept'));
      await first.index.updateMailboxEntry('alice@corp.test', 'm-kept', { read: true });
      await first.index.recordDeliveryAttempt('m-kept', 'alice@corp.test', attempt(1, 'delivered'), 'delivered', null);
      await first.index.acquireOnce('enqueue#m-kept', 'worker-a', NOW, 60_000);
      await first.index.completeOnce('enqueue#m-kept', 'worker-a');
      await first.index.setPendingRecipients('m-kept', 2, NOW_SECONDS + 60);
      first.db.close();
      // Act
      const { index } = open();
      // Assess
      expect(await index.getMessage('m-kept', NOW)).toEqual(makeRecord('m-kept', { envelopeRecipients: ['alice@corp.test'] }));
      expect(await index.getMailboxEntry('alice@corp.test', 'm-kept', NOW)).toMatchObject({ read: true });
      expect(await index.getDeliveryStates('m-kept', NOW)).toMatchObject([{ state: 'delivered', attemptCount: 1 }]);
      expect(await index.acquireOnce('enqueue#m-kept', 'worker-b', NOW, 60_000)).toBe('done');
      expect(await index.countPendingRecipients(NOW)).toBe(2);
    });

    it("lets two connections to one file see each other's committed writes", async () => {
      // Prepare
      const stack = open();
      const cli = open();
      // Act
      await stack.index.putMessage(makeRecord('m-both'));
      await stack.index.createDeliveryState(makeState('m-both', 'alice@corp.test'));
      await cli.index.recordExtraAttempt('m-both', 'alice@corp.test', attempt(1, 'delivered'));
      await cli.index.putMailboxEntry(makeEntry('alice@corp.test', 'm-both'));
      // Assess
      expect(await cli.index.getMessage('m-both', NOW)).toEqual(makeRecord('m-both'));
      expect(await stack.index.getDeliveryStates('m-both', NOW)).toMatchObject([{ state: 'delivered', attemptCount: 1 }]);
      expect(await stack.index.getMailboxEntry('alice@corp.test', 'm-both', NOW)).toEqual(makeEntry('alice@corp.test', 'm-both'));
    });

    it('gives a gate to one connection only: the other sees it busy, then done', async () => {
      // Prepare
      const stack = open();
      const cli = open();
      // Act
      const taken = await stack.index.acquireOnce('relay#m1#0', 'stack', NOW, 60_000);
      const refused = await cli.index.acquireOnce('relay#m1#0', 'cli', NOW, 60_000);
      await stack.index.completeOnce('relay#m1#0', 'stack');
      const afterwards = await cli.index.acquireOnce('relay#m1#0', 'cli', new Date(NOW.getTime() + 120_000), 60_000);
      // Assess
      expect([taken, refused, afterwards]).toEqual(['acquired', 'busy', 'done']);
    });

    it('serializes two processes writing one file: each gate goes to one of them, no attempt is lost, no write fails busy', async () => {
      // Prepare
      const { index } = open();
      await index.createDeliveryState(makeState('m-race', 'alice@corp.test'));
      const file = storeFile().path;
      const children = [
        ['stack', 'up'],
        ['cli', 'down'],
      ].map(([owner, direction]) =>
        spawn(process.execPath, ['--import', 'tsx', CHILD, 'race', file, owner!, String(RACE_COUNT), direction!], {
          stdio: ['pipe', 'pipe', 'pipe'],
        }),
      );
      const outputs = children.map((child) => collect(child));
      await Promise.all(outputs.map((output) => output.ready));
      // Act
      for (const child of children) child.stdin?.write('go\n');
      const results = await Promise.all(outputs.map((output) => output.done));
      // Assess
      for (const result of results) expect(result.stderr).toBe('');
      const [stack, cli] = results.map((result) => (JSON.parse(result.stdout.split('\n').at(-2) ?? '') as { acquired: string[] }).acquired);
      expect([...(stack ?? []), ...(cli ?? [])].sort()).toEqual(Array.from({ length: RACE_COUNT }, (_, n) => `race#${n}`).sort());
      const [state] = await index.getDeliveryStates('m-race', NOW);
      expect(state?.attemptCount).toBe(2 * RACE_COUNT);
    }, 60_000);

    it('keeps every write that returned when its process is killed (SIGKILL) mid-stream, and the file stays sound', async () => {
      // Prepare
      const file = storeFile().path;
      const child = spawn(process.execPath, ['--import', 'tsx', CHILD, 'write', file], { stdio: ['pipe', 'pipe', 'pipe'] });
      // Once the child is killed its stdin is a broken pipe; nothing more is written to it.
      child.stdin.on('error', () => undefined);
      let stdout = '';
      let started = false;
      const stored = () => [...stdout.matchAll(/^stored (\S+)$/gm)].map((match) => match[1]!);
      const enough = new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (chunk: Buffer) => {
          stdout += chunk.toString('utf8');
          if (!started && stdout.includes('ready\n')) {
            started = true;
            child.stdin.write('go\n');
          }
          if (stored().length >= 40) resolve();
        });
        child.on('exit', (code) => reject(new Error(`child exited ${code} before it was killed`)));
      });
      await enough;
      // Act
      const exited = new Promise((resolve) => child.on('exit', resolve));
      child.kill('SIGKILL');
      await exited;
      // Assess: each id the child reported stored is there whole
      const { db, index } = open();
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
      const reported = stored();
      for (const id of reported) {
        expect(await index.getMessage(id, NOW)).toEqual(makeRecord(id));
        expect(await index.getDeliveryStates(id, NOW)).toHaveLength(1);
        expect(await index.getMailboxEntry('alice@corp.test', id, NOW)).toEqual(makeEntry('alice@corp.test', id));
      }
      expect(reported.length).toBeGreaterThanOrEqual(40);
    }, 60_000);

    it('hides expired rows from reads before any purge', async () => {
      // Prepare
      const { index } = open();
      await putReceived(index, makeRecord('m-old', { expiresAt: EXPIRED }));
      // Act
      const read = await index.getMessage('m-old', NOW);
      const states = await index.getDeliveryStates('m-old', NOW);
      // Assess
      expect([read, states]).toEqual([null, []]);
    });
  });
});

describe('SqliteMessageIndex query plans', () => {
  it('reads and writes every table through an index: no statement it runs scans a table or sorts what it read', async () => {
    // Prepare: every statement the adapters run, as SQLite expanded it with its values
    const statements = new Set<string>();
    const db = new Database(':memory:', { verbose: (sql) => statements.add(String(sql)) });
    try {
      const index = new SqliteMessageIndex(db, { searchBudget: 2 });
      await new SqliteDirectoryStore(db).putAddresses([{ address: 'sales@corp.test', mailbox: 'alice@corp.test' }]);
      // Act: each method, with and without cursors and options
      for (let i = 0; i < 4; i += 1) {
        const id = `m${i}`;
        await index.mailboxFor('sales@corp.test');
        await putReceived(index, makeRecord(id, { receivedAt: daysAgo(i), envelopeRecipients: ['alice@corp.test', 'bob@corp.test'] }));
        await index.putMessage(makeRecord(id, { envelopeRecipients: ['carol@corp.test'] }));
        await index.putMailboxEntry(makeEntry('alice@corp.test', id, { receivedAt: daysAgo(i) }));
        await index.getMailboxEntry('alice@corp.test', id, NOW);
        await index.updateMailboxEntry('alice@corp.test', id, { read: true, folder: 'inbox' });
        await index.recordDeliveryAttempt(id, 'alice@corp.test', attempt(1), 'deferred', null);
        await index.recordExtraAttempt(id, 'bob@corp.test', attempt(2, 'delivered'));
        await index.getDeliveryStates(id, NOW);
        await index.getMessage(id, NOW);
        await index.acquireOnce(`enqueue#${id}`, 'w', NOW, 60_000);
        await index.completeOnce(`enqueue#${id}`, 'w');
        await index.releaseOnce(`enqueue#${id}`, 'w');
        await index.setPendingRecipients(id, 2, NOW_SECONDS + 60);
      }
      await index.countPendingRecipients(NOW);
      await index.findMessages({ recipient: 'alice@corp.test' }, NOW);
      await index.findMessages({ sender: 'sender@ext.example' }, NOW);
      await index.findMessages({ messageIdHeader: 'm1@ext.example' }, NOW);
      await allSearchPages(index, { recipient: 'alice@corp.test', limit: 1 });
      await allSearchPages(index, { since: daysAgo(5), until: NOW.toISOString(), subject: 'subject', limit: 1 });
      for (const mailbox of [undefined, 'alice@corp.test']) {
        let cursor: string | null = null;
        do {
          ({ nextCursor: cursor } = await index.listReceived(
            { since: daysAgo(5), until: NOW.toISOString(), limit: 1, cursor, ...(mailbox && { mailbox }) },
            NOW,
          ));
        } while (cursor !== null);
      }
      for (const search of [undefined, 'subject']) {
        let cursor: string | null = null;
        do {
          ({ nextCursor: cursor } = await index.listMailboxPage(
            'alice@corp.test',
            { folder: 'inbox', limit: 1, cursor, ...(search && { search }) },
            NOW,
          ));
        } while (cursor !== null);
      }
      await index.purgeExpired(NOW);
      // Assess
      // A sort means the index does not give the order: the whole range is read before the first row.
      const scans: string[] = [];
      for (const sql of statements) {
        if (!/^\s*(SELECT|INSERT|UPDATE|DELETE)/i.test(sql)) continue;
        const plan = db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all() as Array<{ detail: string }>;
        for (const { detail } of plan)
          if (/^SCAN |TEMP B-TREE FOR (RIGHT PART OF )?ORDER BY/.test(detail))
            scans.push(`${detail} in: ${sql.replace(/\s+/g, ' ').slice(0, 160)}`);
      }
      expect(statements.size).toBeGreaterThan(30);
      expect(scans).toEqual([]);
    } finally {
      db.close();
    }
  });
});

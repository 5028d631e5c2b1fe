// The ingest use case against in-memory adapters and the real mailparser adapter.
import { beforeEach, describe, expect, it } from 'vitest';
import { MailparserMimeParser } from '../../../../lambdas/adapters/mime/mailparser-mime-parser.ts';
import { LeaseBusyError, MimeParseError, RawMessageMissingError } from '../../../../lambdas/core/errors.ts';
import { enqueueGate } from '../../../../lambdas/core/forward-part.ts';
import { type IngestDeps, ingestMessage } from '../../../../lambdas/core/ingest.ts';
import { ManualClock, MemoryRawMailStore, RecordingForwardQueue } from '../../../support/memory-adapters.ts';
import { MemoryMessageIndex } from '../../../support/memory-message-index.ts';
import { meterOverlap } from '../../../support/overlapping-calls.ts';
import { receivedMail, simpleMessage } from '../../../support/received-mail.ts';

describe('ingestMessage', () => {
  let index: MemoryMessageIndex;
  let store: MemoryRawMailStore;
  let queue: RecordingForwardQueue;
  let deps: IngestDeps;

  beforeEach(() => {
    index = new MemoryMessageIndex();
    store = new MemoryRawMailStore();
    queue = new RecordingForwardQueue();
    deps = {
      index,
      rawStore: store,
      parser: new MailparserMimeParser(),
      forwardQueue: queue,
      clock: new ManualClock('2026-11-20T10:00:05.000Z'),
      workerId: 'worker-a',
      config: { retentionDays: 28, stackId: 'shadowmail-test', leaseMs: 60_000, subaddressSeparator: '+' },
    };
  });

  it('indexes one entry per mailbox, one delivery state per envelope recipient, and queues one forward job', async () => {
    // Prepare: bob is BCC (envelope only); "sales" is an alias of carol's mailbox, in other case
    const mail = receivedMail({ envelopeRecipients: ['alice@corp.test', 'bob@corp.test', 'Sales@Corp.Test'] });
    store.put(mail.raw, simpleMessage());
    await index.putAddresses([{ address: 'sales@corp.test', mailbox: 'carol@corp.test' }]);

    // Act
    const outcome = await ingestMessage(mail, deps);

    // Assess
    expect(outcome.mailboxes.sort()).toEqual(['alice@corp.test', 'bob@corp.test', 'carol@corp.test']);
    const carol = (await index.listMailboxPage('carol@corp.test', { folder: 'inbox', limit: 10 }, deps.clock.now())).entries;
    expect(carol).toHaveLength(1);
    expect(carol[0]).toMatchObject({ subject: 'Quarterly numbers', recipients: ['sales@corp.test'], folder: 'inbox', read: false });
    expect(carol[0]?.expiresAt).toBe(Date.parse('2026-11-20T10:00:00Z') / 1000 + 28 * 86_400);
    const states = await index.getDeliveryStates(mail.sesMessageId, deps.clock.now());
    expect(states.map((state) => state.recipient).sort()).toEqual(['Sales@Corp.Test', 'alice@corp.test', 'bob@corp.test']);
    expect(states.every((state) => state.state === 'queued')).toBe(true);
    // The job relays this notification's recipients (another receipt rule's would have their own job).
    const recipients = ['alice@corp.test', 'bob@corp.test', 'Sales@Corp.Test'];
    expect(queue.sent).toEqual([
      { job: { sesMessageId: 'ses-0001', receivedAt: mail.receivedAt, attempt: 0, recipients }, delaySeconds: 0 },
    ]);
    // The console's backlog counts the recipients the forward still has to deliver.
    expect(await index.countPendingRecipients(deps.clock.now())).toBe(3);
  });

  it('maps two aliases of one mailbox to a single inbox entry', async () => {
    const mail = receivedMail({ envelopeRecipients: ['info@corp.test', 'carol@corp.test'] });
    store.put(mail.raw, simpleMessage());
    await index.putAddresses([{ address: 'info@corp.test', mailbox: 'carol@corp.test' }]);

    await ingestMessage(mail, deps);

    const carol = (await index.listMailboxPage('carol@corp.test', { folder: 'inbox', limit: 10 }, deps.clock.now())).entries;
    expect(carol).toHaveLength(1);
    expect(carol[0]?.recipients.sort()).toEqual(['carol@corp.test', 'info@corp.test']);
    expect(await index.getDeliveryStates(mail.sesMessageId, deps.clock.now())).toHaveLength(2);
  });

  describe('envelope recipients in their normal form', () => {
    const inbox = async (mailbox: string) =>
      (await index.listMailboxPage(mailbox, { folder: 'inbox', limit: 10 }, deps.clock.now())).entries;

    it('files a quoted local part and a +tag under the mailbox of the plain address', async () => {
      // Prepare: alice is in the directory; neither spelling below is
      const mail = receivedMail({ envelopeRecipients: ['<"alice"@corp.test>', 'Alice+Newsletter@corp.test'] });
      store.put(mail.raw, simpleMessage());
      await index.putAddresses([{ address: 'alice@corp.test', mailbox: 'alice@corp.test' }]);

      const outcome = await ingestMessage(mail, deps);

      expect(outcome.mailboxes).toEqual(['alice@corp.test']);
      const entries = await inbox('alice@corp.test');
      expect(entries).toHaveLength(1);
      expect(entries[0]?.recipients).toEqual(['alice@corp.test', 'alice+newsletter@corp.test']);
      // The primary still gets the envelope as it came
      const states = await index.getDeliveryStates(mail.sesMessageId, deps.clock.now());
      expect(states.map((state) => state.recipient).sort()).toEqual(['<"alice"@corp.test>', 'Alice+Newsletter@corp.test'].sort());
    });

    it('keeps local+tag when it is itself an address in the directory', async () => {
      const mail = receivedMail({ envelopeRecipients: ['sales+emea@corp.test'] });
      store.put(mail.raw, simpleMessage());
      await index.putAddresses([
        { address: 'sales+emea@corp.test', mailbox: 'dave@corp.test' },
        { address: 'sales@corp.test', mailbox: 'carol@corp.test' },
      ]);

      expect((await ingestMessage(mail, deps)).mailboxes).toEqual(['dave@corp.test']);
    });

    it('files local+tag under local when the directory knows neither, as the plain address would be', async () => {
      const mail = receivedMail({ envelopeRecipients: ['bob+x@corp.test'] });
      store.put(mail.raw, simpleMessage());

      expect((await ingestMessage(mail, deps)).mailboxes).toEqual(['bob@corp.test']);
    });

    it('does not map subaddresses when the separator is off', async () => {
      const mail = receivedMail({ envelopeRecipients: ['alice+tag@corp.test'] });
      store.put(mail.raw, simpleMessage());
      await index.putAddresses([{ address: 'alice@corp.test', mailbox: 'alice@corp.test' }]);

      const outcome = await ingestMessage(mail, { ...deps, config: { ...deps.config, subaddressSeparator: '' } });

      expect(outcome.mailboxes).toEqual(['alice+tag@corp.test']);
    });

    it('never looks up nor routes a % local part, yet keeps and forwards the message', async () => {
      // Prepare: the directory would map both halves of the %-route; record every lookup
      const mail = receivedMail({ envelopeRecipients: ['alice%corp.test@corp.test'] });
      store.put(mail.raw, simpleMessage());
      await index.putAddresses([
        { address: 'alice@corp.test', mailbox: 'alice@corp.test' },
        { address: 'alice%corp.test@corp.test', mailbox: 'alice@corp.test' },
      ]);
      const lookups: string[] = [];
      const lookup = index.mailboxFor.bind(index);
      index.mailboxFor = (address: string) => {
        lookups.push(address);
        return lookup(address);
      };

      const outcome = await ingestMessage(mail, deps);

      expect(lookups).toEqual([]);
      expect(outcome.mailboxes).toEqual(['alice%corp.test@corp.test']);
      expect(await inbox('alice@corp.test')).toEqual([]);
      expect(await index.getDeliveryStates(mail.sesMessageId, deps.clock.now())).toHaveLength(1);
      expect(queue.sent).toHaveLength(1);
    });
  });

  it('is idempotent: the same notification twice yields the same items and one forward job', async () => {
    const mail = receivedMail();
    store.put(mail.raw, simpleMessage());

    await ingestMessage(mail, deps);
    const entry = (await index.listMailboxPage('alice@corp.test', { folder: 'inbox', limit: 10 }, deps.clock.now())).entries[0]!;
    index.entries.get(`alice@corp.test|${mail.sesMessageId}`)!.read = true; // the user read it meanwhile
    const second = await ingestMessage(mail, { ...deps, workerId: 'worker-b' });

    expect(second.forwardEnqueued).toBe(false);
    expect(queue.sent).toHaveLength(1);
    const after = (await index.listMailboxPage('alice@corp.test', { folder: 'inbox', limit: 10 }, deps.clock.now())).entries;
    expect(after).toEqual([{ ...entry, read: true }]);
  });

  it('files a later receipt rule’s recipients with the message as first stored: receipt time, expiry, verdicts', async () => {
    // Prepare: SES timestamps each rule's action (receipt.timestamp); rule 2's scan differs too
    const first = receivedMail({ envelopeRecipients: ['alice@corp.test'], verdicts: { ...receivedMail().verdicts, virus: 'FAIL' } });
    const second = receivedMail({ envelopeRecipients: ['bob@corp.test'], receivedAt: '2026-11-20T10:00:00.250Z' });
    store.put(first.raw, simpleMessage());
    await ingestMessage(first, deps);

    // Act
    const outcome = await ingestMessage(second, { ...deps, workerId: 'worker-b' });

    // Assess: one message: bob's entry, state and job carry the stored record's time, expiry and quarantine
    const now = deps.clock.now();
    const record = await index.getMessage(second.sesMessageId, now);
    expect(record?.envelopeRecipients).toEqual(['alice@corp.test', 'bob@corp.test']);
    const bob = await index.getMailboxEntry('bob@corp.test', second.sesMessageId, now);
    expect(bob).toMatchObject({ receivedAt: first.receivedAt, expiresAt: record?.expiresAt, visibility: 'quarantined' });
    const states = await index.getDeliveryStates(second.sesMessageId, now);
    expect(states.map((state) => [state.recipient, state.receivedAt, state.expiresAt])).toEqual([
      ['alice@corp.test', first.receivedAt, record?.expiresAt],
      ['bob@corp.test', first.receivedAt, record?.expiresAt],
    ]);
    expect(outcome.forwardEnqueued).toBe(true);
    expect(queue.sent.map((sent) => sent.job)).toEqual([
      { sesMessageId: first.sesMessageId, receivedAt: first.receivedAt, attempt: 0, recipients: ['alice@corp.test'] },
      { sesMessageId: first.sesMessageId, receivedAt: first.receivedAt, attempt: 0, recipients: ['bob@corp.test'] },
    ]);
  });

  describe('round trips (issue 18)', () => {
    const countReads = () => {
      const reads = { states: 0 };
      const read = index.getDeliveryStates.bind(index);
      index.getDeliveryStates = (...args) => {
        reads.states += 1;
        return read(...args);
      };
      return reads;
    };

    it('reads no delivery states back when this notification created every one of them', async () => {
      const mail = receivedMail({ envelopeRecipients: ['alice@corp.test', 'bob@corp.test'] });
      store.put(mail.raw, simpleMessage());
      const reads = countReads();

      await ingestMessage(mail, deps);

      expect(reads.states).toBe(0);
      expect(queue.sent.map((sent) => sent.job.recipients)).toEqual([['alice@corp.test', 'bob@corp.test']]);
    });

    it('reads them back when a state existed, and queues only the recipients it owns', async () => {
      // Prepare: an overlapping rule's notification created bob's state first
      const mail = receivedMail({ envelopeRecipients: ['alice@corp.test', 'bob@corp.test'] });
      store.put(mail.raw, simpleMessage());
      await ingestMessage({ ...mail, envelopeRecipients: ['bob@corp.test'] }, deps);
      const reads = countReads();

      // Act
      await ingestMessage(mail, { ...deps, workerId: 'worker-b' });

      // Assess
      expect(reads.states).toBe(1);
      expect(queue.sent.map((sent) => sent.job.recipients)).toEqual([['bob@corp.test'], ['alice@corp.test']]);
    });

    it('writes the entries and states of several recipients at once, not one after another', async () => {
      // Prepare: every write waits a tick, so writes issued together overlap
      const mail = receivedMail({ envelopeRecipients: ['alice@corp.test', 'bob@corp.test', 'carol@corp.test'] });
      store.put(mail.raw, simpleMessage());
      const overlap = meterOverlap(index, ['putMailboxEntry', 'createDeliveryState', 'mailboxFor']);

      // Act
      await ingestMessage(mail, deps);

      // Assess: three entries and three states in flight together, and all of them stored
      expect(overlap.most).toBe(6);
      expect(await index.getDeliveryStates(mail.sesMessageId, deps.clock.now())).toHaveLength(3);
      expect(await index.getMailboxEntry('carol@corp.test', mail.sesMessageId, deps.clock.now())).not.toBeNull();
    });
  });

  it('refuses to enqueue while another worker holds the gate, so SQS retries it later', async () => {
    const mail = receivedMail();
    store.put(mail.raw, simpleMessage());
    await index.acquireOnce(enqueueGate(mail.sesMessageId, mail.envelopeRecipients), 'worker-b', deps.clock.now(), 60_000);

    await expect(ingestMessage(mail, deps)).rejects.toBeInstanceOf(LeaseBusyError);
    expect(queue.sent).toHaveLength(0);
  });

  it('releases the gate when the queue fails, so the retry enqueues', async () => {
    const mail = receivedMail();
    store.put(mail.raw, simpleMessage());
    queue.failNext = true;

    await expect(ingestMessage(mail, deps)).rejects.toThrow('queue unavailable');
    const retry = await ingestMessage(mail, deps);

    expect(retry.forwardEnqueued).toBe(true);
    expect(queue.sent).toHaveLength(1);
  });

  it('indexes a message the parser refuses from the notification, and still forwards it', async () => {
    // Prepare: a parser that gives up, as mailparser may on hostile input
    const mail = receivedMail({
      commonHeaders: {
        subject: 'From SES',
        from: ['x@partner.test'],
        messageId: '<ses@partner.test>',
        date: 'Fri, 20 Nov 2026 09:59:00 +0000',
      },
      headers: [{ name: 'X-Shadowmail-Forwarded', value: 'shadowmail-test; id=old; now' }],
    });
    store.put(mail.raw, 'garbage');
    const refusingParser = {
      summarize: async () => {
        throw new MimeParseError('unreadable structure');
      },
    };

    // Act
    const outcome = await ingestMessage(mail, { ...deps, parser: refusingParser });

    // Assess
    expect(outcome).toMatchObject({ parsed: false, forwardEnqueued: true, mailboxes: ['alice@corp.test'] });
    const record = await index.getMessage(mail.sesMessageId, deps.clock.now());
    expect(record?.summary).toMatchObject({
      subject: 'From SES',
      from: ['x@partner.test'],
      messageIdHeader: '<ses@partner.test>',
      date: '2026-11-20T09:59:00.000Z',
      parseError: 'unreadable structure',
    });
    expect(record?.size).toBe(7);
    expect(record?.loopDetected).toBe(true);
    expect(queue.sent).toHaveLength(1);
  });

  it("indexes the notification's subject and names without bidi controls, as the parser does (issue 14)", async () => {
    // Prepare: a refused message whose SES-parsed subject and From carry an override and an isolate
    const mail = receivedMail({
      commonHeaders: {
        subject: 'Rechnung \u202efdp.exe \u2066ok\u2069',
        from: ['Bank \u202eknaB <x@partner.test>'],
        to: ['\u2067alice@corp.test'],
      },
    });
    store.put(mail.raw, 'garbage');
    const refusingParser = {
      summarize: async () => {
        throw new MimeParseError('unreadable structure');
      },
    };

    // Act
    await ingestMessage(mail, { ...deps, parser: refusingParser });

    // Assess
    const record = await index.getMessage(mail.sesMessageId, deps.clock.now());
    expect(record?.summary).toMatchObject({
      subject: 'Rechnung fdp.exe ok',
      from: ['Bank knaB <x@partner.test>'],
      to: ['alice@corp.test'],
    });
  });

  it('does not swallow a broken store stream as a parse failure', async () => {
    const mail = receivedMail();
    store.put(mail.raw, simpleMessage());
    const failingParser = {
      summarize: async () => {
        throw new Error('socket hang up');
      },
    };

    await expect(ingestMessage(mail, { ...deps, parser: failingParser })).rejects.toThrow('socket hang up');
    expect(queue.sent).toHaveLength(0);
  });

  it('quarantines a virus and flags spam from the SES verdicts', async () => {
    const virus = receivedMail({ sesMessageId: 'v1', verdicts: { spam: 'PASS', virus: 'FAIL', spf: 'PASS', dkim: 'PASS', dmarc: 'PASS' } });
    const spam = receivedMail({ sesMessageId: 's1', verdicts: { spam: 'FAIL', virus: 'PASS', spf: 'PASS', dkim: 'PASS', dmarc: 'PASS' } });
    store.put(virus.raw, simpleMessage());
    store.put(spam.raw, simpleMessage());

    await ingestMessage(virus, deps);
    await ingestMessage(spam, deps);

    const entries = (
      await index.listMailboxPage('alice@corp.test', { folder: 'inbox', limit: 10, includeQuarantined: true }, deps.clock.now())
    ).entries;
    expect(entries.find((entry) => entry.sesMessageId === 'v1')).toMatchObject({ visibility: 'quarantined', spamFlagged: false });
    expect(entries.find((entry) => entry.sesMessageId === 's1')).toMatchObject({ visibility: 'normal', spamFlagged: true });
  });

  it('stores the authentication warnings with the message and each mailbox entry', async () => {
    // A From at our own domain that failed SPF and did not pass DMARC; the second mail domain counts from config
    const verdicts = { spam: 'PASS', virus: 'PASS', spf: 'FAIL', dkim: 'GRAY', dmarc: 'GRAY' } as const;
    const forged = receivedMail({ sesMessageId: 'f1', verdicts, envelopeRecipients: ['alice@corp.test', 'bob@corp.test'] });
    const sister = receivedMail({ sesMessageId: 'f2', verdicts: { ...verdicts, spf: 'PASS' } });
    const clean = receivedMail({ sesMessageId: 'c1' });
    store.put(forged.raw, simpleMessage({ from: 'IT Service <it@corp.test>' }));
    store.put(sister.raw, simpleMessage({ from: 'boss@corp-group.test' }));
    store.put(clean.raw, simpleMessage());
    const withDomains = { ...deps, config: { ...deps.config, ownDomains: ['corp.test', 'corp-group.test'] } };

    await ingestMessage(forged, withDomains);
    await ingestMessage(sister, withDomains);
    await ingestMessage(clean, withDomains);

    expect((await index.getMessage('f1', deps.clock.now()))?.authWarnings).toEqual(['spf', 'own-domain']);
    for (const mailbox of ['alice@corp.test', 'bob@corp.test']) {
      const entries = (await index.listMailboxPage(mailbox, { folder: 'inbox', limit: 10 }, deps.clock.now())).entries;
      expect(entries.find((entry) => entry.sesMessageId === 'f1')?.authWarnings).toEqual(['spf', 'own-domain']);
    }
    const alice = (await index.listMailboxPage('alice@corp.test', { folder: 'inbox', limit: 10 }, deps.clock.now())).entries;
    expect(alice.find((entry) => entry.sesMessageId === 'f2')?.authWarnings).toEqual(['own-domain']);
    expect(alice.find((entry) => entry.sesMessageId === 'c1')?.authWarnings).toEqual([]);
  });

  it('marks a message that carries our own forward stamp as a loop', async () => {
    const mail = receivedMail();
    store.put(mail.raw, simpleMessage({ extraHeaders: 'X-Shadowmail-Forwarded: shadowmail-test; id=old; Fri, 20 Nov 2026 09:00:00 GMT' }));

    await ingestMessage(mail, deps);

    expect((await index.getMessage(mail.sesMessageId, deps.clock.now()))?.loopDetected).toBe(true);
  });

  it('does not treat another stack’s stamp as a loop', async () => {
    const mail = receivedMail();
    store.put(mail.raw, simpleMessage({ extraHeaders: 'X-Shadowmail-Forwarded: other-company; id=x; Fri, 20 Nov 2026 09:00:00 GMT' }));

    await ingestMessage(mail, deps);

    expect((await index.getMessage(mail.sesMessageId, deps.clock.now()))?.loopDetected).toBe(false);
  });

  it('fails retryably when the raw object is not in the store yet', async () => {
    await expect(ingestMessage(receivedMail(), deps)).rejects.toBeInstanceOf(RawMessageMissingError);
    expect(queue.sent).toHaveLength(0);
  });

  it('hides expired items on read even before the store deletes them', async () => {
    const mail = receivedMail();
    store.put(mail.raw, simpleMessage());
    await ingestMessage(mail, deps);

    const later = new Date(Date.parse(mail.receivedAt) + 29 * 86_400_000);

    expect((await index.listMailboxPage('alice@corp.test', { folder: 'inbox', limit: 10 }, later)).entries).toEqual([]);
    expect(await index.getMessage(mail.sesMessageId, later)).toBeNull();
  });
});

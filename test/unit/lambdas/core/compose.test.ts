// The compose use cases: reply / reply-all / forward drafts (recipients, subjects,
// In-Reply-To, References, quoting), validation (limits, header injection through every
// field) and sendDraft end to end with the real MIME composer: what is sent is parsed
// back with mailparser, the envelope is what the recording mailer got, and the copy in
// the Sent folder is checked in the raw store and the index.
import { Readable } from 'node:stream';
import { type AddressObject, type ParsedMail, simpleParser } from 'mailparser';
import { beforeEach, describe, expect, it } from 'vitest';
import { MailparserMessageRenderer } from '../../../../lambdas/adapters/mime/mailparser-message-renderer.ts';
import { NodemailerMimeComposer } from '../../../../lambdas/adapters/mime/nodemailer-mime-composer.ts';
import {
  type ResolvedAttachment,
  type StoredAttachmentResolver,
  storedAttachmentResolver,
} from '../../../../lambdas/core/compose/attachments.ts';
import { DEFAULT_COMPOSE_LIMITS, type Draft, DraftError } from '../../../../lambdas/core/compose/draft.ts';
import { draftFromForm } from '../../../../lambdas/core/compose/form.ts';
import { formatAddressList, parseAddressList, parseMailbox } from '../../../../lambdas/core/compose/mailboxes.ts';
import { trimReferences } from '../../../../lambdas/core/compose/message-ids.ts';
import { forwardSubject, MAX_QUOTED_CHARS, quoteText, replySubject } from '../../../../lambdas/core/compose/quoting.ts';
import { forwardDraft, ownAddressesIn, replyDraft } from '../../../../lambdas/core/compose/reply-forward.ts';
import { type SendDeps, sendDraft } from '../../../../lambdas/core/compose/send.ts';
import { validateDraft } from '../../../../lambdas/core/compose/validation.ts';
import { InvalidInputError, NotFoundError } from '../../../../lambdas/core/errors.ts';
import type { MailboxEntry, MessageRecord, RawLocation } from '../../../../lambdas/core/model.ts';
import { isLive } from '../../../../lambdas/core/retention.ts';
import type { RenderedMessage } from '../../../../lambdas/ports/message-renderer.ts';
import type { OutboundEnvelope, OutboundMailer } from '../../../../lambdas/ports/outbound-mailer.ts';
import type { RawMailWriter } from '../../../../lambdas/ports/raw-mail-store.ts';
import type { Identity } from '../../../../lambdas/ports/sign-in.ts';
import { ManualClock, MemoryRawMailStore } from '../../../support/memory-adapters.ts';
import { MemoryMessageIndex } from '../../../support/memory-message-index.ts';
import { MemorySendCounter } from '../../../support/memory-send-counter.ts';
import { headerNames } from '../../../support/mime-headers.ts';

// ---------------------------------------------------------------------------------------
// Fixtures

const alice: Identity = { subject: 'sub-alice', email: 'Alice@Corp.test', name: 'Alice Ärger', groups: [] };

function rendered(overrides: Partial<RenderedMessage> = {}): RenderedMessage {
  return {
    from: ['Bob Partner <bob@partner.test>'],
    to: ['Alice Ärger <alice@corp.test>', 'carol@partner.test'],
    cc: ['"Doe, Dan" <dan@partner.test>', 'a.alias@corp.test'],
    replyTo: [],
    subject: 'Quarterly numbers',
    date: '2030-02-28T09:30:00.000Z',
    messageIdHeader: '<msg-3@partner.test>',
    inReplyTo: '<msg-2@corp.test>',
    references: ['<msg-1@partner.test>', '<msg-2@corp.test>'],
    text: 'Here they are.\n\n> earlier quote\nBob\n',
    html: null,
    remoteContentBlocked: false,
    attachments: [],
    truncated: false,
    ...overrides,
  };
}

function draft(overrides: Partial<Draft> = {}): Draft {
  return {
    from: { name: 'Alice', address: 'alice@corp.test' },
    to: [{ name: 'Bob', address: 'bob@partner.test' }],
    cc: [],
    bcc: [],
    subject: 'Hello',
    text: 'Hi Bob',
    attachments: [],
    ...overrides,
  };
}

function addresses(value: AddressObject | AddressObject[] | undefined): string[] {
  return (Array.isArray(value) ? value : value ? [value] : []).flatMap((object) => object.value.map((m) => m.address ?? ''));
}

class RecordingMailer implements OutboundMailer {
  readonly sent: { envelope: OutboundEnvelope; raw: Buffer }[] = [];
  fail: Error | null = null;
  async send(envelope: OutboundEnvelope, raw: Buffer): Promise<{ providerMessageId: string }> {
    if (this.fail) throw this.fail;
    this.sent.push({ envelope: structuredClone(envelope), raw: Buffer.from(raw) });
    return { providerMessageId: `provider-${this.sent.length}` };
  }
}

class MemoryRawWriter implements RawMailWriter {
  readonly objects = new Map<string, Buffer>();
  async put(location: RawLocation, body: Readable | Buffer): Promise<void> {
    const chunks: Buffer[] = [];
    if (Buffer.isBuffer(body)) chunks.push(body);
    else for await (const chunk of body) chunks.push(Buffer.from(chunk as Buffer));
    this.objects.set(`${location.bucket}/${location.key}`, Buffer.concat(chunks));
  }
}

/** The index operations sendDraft needs, over the shared in-memory index. */
function sendIndex(memory: MemoryMessageIndex, failWrites = false): SendDeps['index'] {
  return {
    mailboxFor: (address) => memory.mailboxFor(address),
    putMessage: async (record) => {
      if (failWrites) throw new Error('index unavailable');
      return memory.putMessage(record);
    },
    putMailboxEntry: (entry) => memory.putMailboxEntry(entry),
    getMailboxEntry: async (mailbox, sesMessageId, now) =>
      [...memory.entries.values()].find((e) => e.mailbox === mailbox && e.sesMessageId === sesMessageId && isLive(e, now)) ?? null,
  };
}

function inboxEntry(mailbox: string, sesMessageId: string, visibility: MailboxEntry['visibility'] = 'normal'): MailboxEntry {
  return {
    mailbox,
    sesMessageId,
    receivedAt: '2030-02-28T09:30:00.000Z',
    expiresAt: Date.parse('2030-04-01T00:00:00Z') / 1000,
    recipients: [mailbox],
    folder: 'inbox',
    read: false,
    visibility,
    spamFlagged: false,
    size: 1000,
    from: ['bob@partner.test'],
    to: [mailbox],
    cc: [],
    subject: 'x',
    date: null,
    snippet: '',
    attachments: [],
  };
}

interface Harness {
  memory: MemoryMessageIndex;
  mailer: RecordingMailer;
  writer: MemoryRawWriter;
  clock: ManualClock;
  resolverCalls: { sesMessageId: string; index: number }[];
  stored: Map<string, ResolvedAttachment[]>;
  deps: SendDeps;
}

function harness(options: { failIndexWrites?: boolean } = {}): Harness {
  const memory = new MemoryMessageIndex();
  const mailer = new RecordingMailer();
  const writer = new MemoryRawWriter();
  const clock = new ManualClock('2030-03-01T12:00:00.000Z');
  const resolverCalls: Harness['resolverCalls'] = [];
  const stored = new Map<string, ResolvedAttachment[]>();
  const resolveAttachment: StoredAttachmentResolver = async (source) => {
    resolverCalls.push(source);
    return stored.get(source.sesMessageId)?.[source.index] ?? null;
  };
  let sequence = 0;
  const deps: SendDeps = {
    index: sendIndex(memory, options.failIndexWrites),
    composer: new NodemailerMimeComposer(),
    mailer,
    rawWriter: writer,
    resolveAttachment,
    sendCounter: new MemorySendCounter(),
    clock,
    newId: () => `sent-${++sequence}`,
    config: { retentionDays: 28, sentBucket: 'mail', sentKeyPrefix: 'sent/' },
  };
  return { memory, mailer, writer, clock, resolverCalls, stored, deps };
}

/** A stream that produces its bytes only when read, and counts the reads. */
function lazyStream(content: Buffer, chunkSize = 16 * 1024): { stream: Readable; reads: () => number } {
  let offset = 0;
  let reads = 0;
  const stream = new Readable({
    read() {
      reads++;
      const chunk = offset < content.length ? content.subarray(offset, offset + chunkSize) : null;
      offset += chunkSize;
      this.push(chunk);
    },
  });
  return { stream, reads: () => reads };
}

// ---------------------------------------------------------------------------------------

describe('addresses', () => {
  it('reads an address field split by commas and semicolons, keeping commas inside quotes and brackets', () => {
    // Prepare
    const input = ' "Doe, John" <John@Example.COM>; bob@partner.test ,Zoë <zoe@bücher.example>, <x@y.test>,';
    // Act
    const mailboxes = parseAddressList(input, 'to');
    // Assess
    expect(mailboxes).toEqual([
      { name: 'Doe, John', address: 'John@example.com' },
      { name: '', address: 'bob@partner.test' },
      { name: 'Zoë', address: 'zoe@xn--bcher-kva.example' },
      { name: '', address: 'x@y.test' },
    ]);
  });

  it('formats mailboxes so that the form field reads back the same', () => {
    // Prepare
    const mailboxes = [
      { name: 'Doe, "JD" John', address: 'john@example.com' },
      { name: 'back\\slash', address: 'b@example.com' },
      { name: '', address: 'plain@example.com' },
    ];
    // Act
    const roundTrip = parseAddressList(formatAddressList(mailboxes), 'cc');
    // Assess
    expect(roundTrip).toEqual(mailboxes);
  });

  it.each([
    ['no domain', 'bob'],
    ['two addresses in brackets', 'Bob <a@b.test> <c@d.test>'],
    ['a quoted local part', '"bob smith"@partner.test'],
    ['a domain literal', 'bob@[127.0.0.1]'],
    ['a space in the address', 'bob smith@partner.test'],
    ['an unterminated quote', '"Bob <bob@partner.test>'],
    ['a group', 'friends: a@b.test'],
    ['a non-ASCII local part (SES has no SMTPUTF8)', 'jürgen@corp.test'],
    ['a numeric top-level domain', 'x@1.2.3.4'],
  ])('refuses %s', (_label, input) => {
    // Prepare
    // Act
    const attempt = () => parseAddressList(input, 'to');
    // Assess
    expect(attempt).toThrow(DraftError);
    try {
      attempt();
    } catch (error) {
      expect((error as DraftError).field).toBe('to');
      expect((error as DraftError).problem).toBe('invalid-address');
    }
  });

  it('refuses line breaks in an address field', () => {
    // Prepare
    const input = 'bob@partner.test\r\nBcc: evil@attacker.test';
    // Act
    const attempt = () => parseAddressList(input, 'bcc');
    // Assess
    expect(attempt).toThrow(expect.objectContaining({ field: 'bcc', problem: 'control-characters' }));
  });

  it('reads header mailboxes as the MIME parser formats them', () => {
    // Prepare
    const formatted = '"Doe, \\"JD\\" John" <john@example.com>';
    // Act
    const mailbox = parseMailbox(formatted);
    // Assess
    expect(mailbox).toEqual({ name: 'Doe, "JD" John', address: 'john@example.com' });
  });
});

describe('subjects', () => {
  it.each([
    ['Quarterly numbers', 'Re: Quarterly numbers'],
    ['Re: Quarterly numbers', 'Re: Quarterly numbers'],
    ['RE: Quarterly numbers', 'Re: Quarterly numbers'],
    ['AW: Quarterly numbers', 'Re: Quarterly numbers'],
    ['Aw: re: AW:Quarterly numbers', 'Re: Quarterly numbers'],
    ['Re[2]: Quarterly numbers', 'Re: Quarterly numbers'],
    ['Fwd: Quarterly numbers', 'Re: Fwd: Quarterly numbers'],
    ['Area: Quarterly numbers', 'Re: Area: Quarterly numbers'],
    ['', 'Re:'],
  ])('reply to %j is %j', (subject, expected) => {
    // Prepare
    // Act
    const result = replySubject(subject);
    // Assess
    expect(result).toBe(expected);
  });

  it.each([
    ['Quarterly numbers', 'Fwd: Quarterly numbers'],
    ['Fwd: Quarterly numbers', 'Fwd: Quarterly numbers'],
    ['FW: Quarterly numbers', 'Fwd: Quarterly numbers'],
    ['WG: Quarterly numbers', 'Fwd: Quarterly numbers'],
    ['Re: Quarterly numbers', 'Fwd: Re: Quarterly numbers'],
  ])('forward of %j is %j', (subject, expected) => {
    // Prepare
    // Act
    const result = forwardSubject(subject);
    // Assess
    expect(result).toBe(expected);
  });

  it('neutralizes line breaks a received subject carries', () => {
    // Prepare
    const subject = 'Hello\r\nBcc: evil@attacker.test';
    // Act
    const result = replySubject(subject);
    // Assess
    expect(result).toBe('Re: Hello Bcc: evil@attacker.test');
  });
});

describe('replyDraft', () => {
  it('answers the sender, with In-Reply-To, References and the quoted text', () => {
    // Prepare
    const original = rendered();
    // Act
    const reply = replyDraft(original, alice, { all: false });
    // Assess
    expect(reply.from).toEqual({ name: 'Alice Ärger', address: 'Alice@corp.test' });
    expect(reply.to).toEqual([{ name: 'Bob Partner', address: 'bob@partner.test' }]);
    expect(reply.cc).toEqual([]);
    expect(reply.bcc).toEqual([]);
    expect(reply.subject).toBe('Re: Quarterly numbers');
    expect(reply.inReplyTo).toBe('<msg-3@partner.test>');
    expect(reply.references).toEqual(['<msg-1@partner.test>', '<msg-2@corp.test>', '<msg-3@partner.test>']);
    expect(reply.text).toBe(
      '\n\nOn 28 Feb 2030, 09:30 UTC, Bob Partner <bob@partner.test> wrote:\n> Here they are.\n>\n>> earlier quote\n> Bob\n',
    );
  });

  it('answers the Reply-To addresses instead of From when there are any', () => {
    // Prepare
    const original = rendered({ replyTo: ['List <list@partner.test>', 'second@partner.test'] });
    // Act
    const reply = replyDraft(original, alice, { all: false });
    // Assess
    expect(reply.to.map((m) => m.address)).toEqual(['list@partner.test', 'second@partner.test']);
  });

  it("reply all adds To and Cc without the user's own addresses (aliases, any case) and without duplicates", () => {
    // Prepare
    const original = rendered({
      to: ['Alice Ärger <ALICE@corp.test>', 'carol@partner.test', 'Bob again <BOB@partner.test>'],
      cc: ['"Doe, Dan" <dan@partner.test>', 'A.Alias@corp.test', 'carol@partner.test'],
    });
    // Act
    const reply = replyDraft(original, alice, { all: true, ownAddresses: ['a.alias@corp.test'] });
    // Assess
    expect(reply.to).toEqual([
      { name: 'Bob Partner', address: 'bob@partner.test' },
      { name: '', address: 'carol@partner.test' },
    ]);
    expect(reply.cc).toEqual([{ name: 'Doe, Dan', address: 'dan@partner.test' }]);
  });

  it("answering the user's own sent message goes to its recipients", () => {
    // Prepare
    const original = rendered({ from: ['Alice <alice@corp.test>'], to: ['bob@partner.test'], cc: ['dan@partner.test'] });
    // Act
    const reply = replyDraft(original, alice, { all: false });
    const replyAll = replyDraft(original, alice, { all: true });
    // Assess
    expect(reply.to.map((m) => m.address)).toEqual(['bob@partner.test']);
    expect(replyAll.to.map((m) => m.address)).toEqual(['bob@partner.test']);
    expect(replyAll.cc.map((m) => m.address)).toEqual(['dan@partner.test']);
  });

  it('answering a note to self goes back to the user', () => {
    // Prepare
    const original = rendered({ from: ['alice@corp.test'], to: ['alice@corp.test'], cc: [] });
    // Act
    const reply = replyDraft(original, alice, { all: true });
    // Assess
    expect(reply.to.map((m) => m.address)).toEqual(['alice@corp.test']);
  });

  it('builds References from In-Reply-To when the parent has no References, and without a parent id leaves In-Reply-To empty', () => {
    // Prepare
    const withInReplyTo = rendered({ references: [], inReplyTo: '<only-parent@x.test>' });
    const withoutId = rendered({ messageIdHeader: null });
    // Act
    const first = replyDraft(withInReplyTo, alice, { all: false });
    const second = replyDraft(withoutId, alice, { all: false });
    // Assess
    expect(first.references).toEqual(['<only-parent@x.test>', '<msg-3@partner.test>']);
    expect(second.inReplyTo).toBeNull();
    expect(second.references).toEqual(['<msg-1@partner.test>', '<msg-2@corp.test>']);
  });

  it('trims a long References chain to the thread root and the most recent ids', () => {
    // Prepare
    const chain = Array.from({ length: 40 }, (_, i) => `<id-${i}@x.test>`);
    const original = rendered({ references: [chain.join(' ')], messageIdHeader: '<parent@x.test>' });
    // Act
    const reply = replyDraft(original, alice, { all: false });
    // Assess
    expect(reply.references).toHaveLength(DEFAULT_COMPOSE_LIMITS.maxReferences);
    expect(reply.references![0]).toBe('<id-0@x.test>');
    expect(reply.references!.at(-1)).toBe('<parent@x.test>');
    expect(reply.references!.at(-2)).toBe('<id-39@x.test>');
    expect(trimReferences(['<a@x>', '<b@x>', '<a@x>'], 5)).toEqual(['<a@x>', '<b@x>']);
  });

  it('drops message ids and addresses of the original that could break a header', () => {
    // Prepare
    const original = rendered({
      from: ['Bob\r\nBcc: evil@attacker.test <bob@partner.test>'],
      messageIdHeader: '<ok@x.test>\r\nBcc: evil@attacker.test',
      references: ['<good@x.test> <bad\u0000@x.test>'],
    });
    // Act
    const reply = replyDraft(original, alice, { all: false });
    // Assess
    expect(reply.to).toEqual([{ name: 'Bob Bcc: evil@attacker.test', address: 'bob@partner.test' }]);
    expect(reply.inReplyTo).toBeNull();
    expect(reply.references).toEqual(['<good@x.test>']);
  });

  it('writes the attribution line in German for a German browser, in the given time zone', () => {
    // Prepare
    const original = rendered();
    // Act
    const reply = replyDraft(original, alice, { all: false, locale: 'de-DE', timeZone: 'Europe/Berlin' });
    // Assess
    expect(reply.text).toContain('Am 28. Feb. 2030, 10:30 MEZ schrieb Bob Partner <bob@partner.test>:\n> Here they are.');
  });

  it('quotes already quoted lines with one more ">"', () => {
    // Prepare
    const text = 'a\r\n> b\n\nc\n\n';
    // Act
    const quoted = quoteText(text);
    // Assess
    expect(quoted).toBe('> a\n>> b\n>\n> c');
  });

  it("finds the user's aliases among the participants through the directory", async () => {
    // Prepare
    const memory = new MemoryMessageIndex();
    await memory.putAddresses([{ address: 'alice@corp.test', mailbox: 'alice@corp.test' }]);
    await memory.putAddresses([{ address: 'a.alias@corp.test', mailbox: 'alice@corp.test' }]);
    await memory.putAddresses([{ address: 'carol@partner.test', mailbox: 'carol@partner.test' }]);
    // Act
    const own = await ownAddressesIn(rendered(), alice, memory);
    const reply = replyDraft(rendered(), alice, { all: true, ownAddresses: own });
    // Assess
    expect(own.sort()).toEqual(['a.alias@corp.test', 'alice@corp.test']);
    expect([...reply.to, ...reply.cc].map((m) => m.address)).toEqual(['bob@partner.test', 'carol@partner.test', 'dan@partner.test']);
  });
});

describe('quoting a very long message', () => {
  it('reply and forward carry at most MAX_QUOTED_CHARS of its text, cut with a mark, so the draft stays sendable', () => {
    // Prepare: three times what may be quoted.
    const original = rendered({ text: 'x'.repeat(MAX_QUOTED_CHARS * 3) });

    // Act
    const reply = replyDraft(original, alice, { all: false });
    const forward = forwardDraft(original, alice, { sesMessageId: 'ses-1' });

    // Assess
    for (const draft of [reply, forward]) {
      expect(draft.text.length).toBeLessThan(MAX_QUOTED_CHARS + 1000);
      expect(draft.text).toMatch(/\n(> )?\[…\]\n/);
      expect(draft.text.length).toBeLessThanOrEqual(DEFAULT_COMPOSE_LIMITS.maxTextLength);
    }
    expect(forwardDraft(rendered({ text: 'short' }), alice, { sesMessageId: 'ses-1' }).text).not.toContain('[…]');
  });
});

describe('forwardDraft', () => {
  it('makes a Fwd: draft with the original headers, text and attachments as stored sources', () => {
    // Prepare
    const original = rendered({
      attachments: [
        { index: 0, filename: 'numbers.xlsx', contentType: 'application/vnd.ms-excel', size: 12_000, contentId: null, inline: false },
        { index: 1, filename: 'logo.png', contentType: 'image/png', size: 900, contentId: 'logo@x', inline: true },
        { index: 2, filename: 'photo.jpg', contentType: 'image/jpeg', size: 50_000, contentId: null, inline: true },
      ],
    });
    // Act
    const forward = forwardDraft(original, alice, { sesMessageId: 'ses-original' });
    // Assess
    expect(forward.to).toEqual([]);
    expect(forward.subject).toBe('Fwd: Quarterly numbers');
    expect(forward.inReplyTo).toBeNull();
    expect(forward.references).toEqual([]);
    expect(forward.text).toBe(
      '\n\n-------- Forwarded Message --------\n' +
        'Subject: Quarterly numbers\n' +
        'Date: 28 Feb 2030, 09:30 UTC\n' +
        'From: Bob Partner <bob@partner.test>\n' +
        'To: Alice Ärger <alice@corp.test>, carol@partner.test\n' +
        'Cc: "Doe, Dan" <dan@partner.test>, a.alias@corp.test\n' +
        '\nHere they are.\n\n> earlier quote\nBob\n',
    );
    expect(forward.attachments).toEqual([
      {
        kind: 'stored',
        sesMessageId: 'ses-original',
        index: 0,
        filename: 'numbers.xlsx',
        contentType: 'application/vnd.ms-excel',
        size: 12_000,
      },
      { kind: 'stored', sesMessageId: 'ses-original', index: 2, filename: 'photo.jpg', contentType: 'image/jpeg', size: 50_000 },
    ]);
  });

  it('labels the header block in German for a German browser', () => {
    // Prepare
    const original = rendered();
    // Act
    const forward = forwardDraft(original, alice, { sesMessageId: 'x', locale: 'de' });
    // Assess
    expect(forward.text).toContain('-------- Weitergeleitete Nachricht --------\nBetreff: Quarterly numbers\nDatum: ');
    expect(forward.text).toContain('\nVon: Bob Partner <bob@partner.test>\nAn: ');
  });
});

describe('validateDraft', () => {
  it('sets From from the identity, whatever the draft says, and removes duplicate recipients across fields', () => {
    // Prepare
    const input = draft({
      from: { name: 'CEO', address: 'ceo@corp.test' },
      to: [{ name: 'Bob', address: 'bob@partner.test' }],
      cc: [
        { name: '', address: 'BOB@partner.test' },
        { name: '', address: 'carol@partner.test' },
      ],
      bcc: [
        { name: '', address: 'carol@PARTNER.test' },
        { name: '', address: 'dan@partner.test' },
      ],
    });
    // Act
    const valid = validateDraft(input, alice);
    // Assess
    expect(valid.from).toEqual({ name: 'Alice Ärger', address: 'Alice@corp.test' });
    expect(valid.to.map((m) => m.address)).toEqual(['bob@partner.test']);
    expect(valid.cc.map((m) => m.address)).toEqual(['carol@partner.test']);
    expect(valid.bcc.map((m) => m.address)).toEqual(['dan@partner.test']);
  });

  it.each<[string, Partial<Draft>, string, string]>([
    ['no recipient', { to: [] }, 'recipients', 'required'],
    [
      '101 recipients',
      { to: Array.from({ length: 101 }, (_, i) => ({ name: '', address: `r${i}@partner.test` })) },
      'recipients',
      'too-many',
    ],
    ['a subject of 999 characters', { subject: 'x'.repeat(999) }, 'subject', 'too-long'],
    [
      'attachments over 25 MB',
      {
        attachments: [{ kind: 'upload', filename: 'big.bin', contentType: 'application/octet-stream', content: Buffer.alloc(25_000_001) }],
      },
      'attachments',
      'too-large',
    ],
    ['an invalid address', { cc: [{ name: '', address: 'not-an-address' }] }, 'cc', 'invalid-address'],
    ['a comma smuggled into an address', { to: [{ name: '', address: 'bob@partner.test,evil@attacker.test' }] }, 'to', 'invalid-address'],
    ['a name in the address', { to: [{ name: '', address: 'Bob <bob@partner.test>' }] }, 'to', 'invalid-address'],
    ['a subject with CRLF', { subject: 'Hi\r\nBcc: evil@attacker.test' }, 'subject', 'control-characters'],
    ['a subject with a bare LF', { subject: 'Hi\nX-Evil: 1' }, 'subject', 'control-characters'],
    ['a subject with NUL', { subject: 'Hi\u0000' }, 'subject', 'control-characters'],
    ['a subject with U+2028', { subject: 'Hi\u2028there' }, 'subject', 'control-characters'],
    [
      'a display name with CRLF',
      { to: [{ name: 'Bob\r\nBcc: evil@attacker.test', address: 'bob@partner.test' }] },
      'to',
      'control-characters',
    ],
    ['a Bcc name with LF', { bcc: [{ name: 'x\nTo: evil@attacker.test', address: 'x@partner.test' }] }, 'bcc', 'control-characters'],
    ['an address with CRLF', { cc: [{ name: '', address: 'bob@partner.test\r\nBcc: evil@attacker.test' }] }, 'cc', 'control-characters'],
    [
      'a filename with CRLF',
      { attachments: [{ kind: 'upload', filename: 'a.txt\r\nX-Evil: 1', contentType: 'text/plain', content: Buffer.from('x') }] },
      'attachments',
      'control-characters',
    ],
    ['an In-Reply-To with CRLF', { inReplyTo: '<a@b.test>\r\nBcc: evil@attacker.test' }, 'inReplyTo', 'control-characters'],
    ['an In-Reply-To that is no message id', { inReplyTo: '<a b@c>' }, 'inReplyTo', 'invalid-message-id'],
    ['a Reference with a space', { references: ['<a@b> <c@d>'] }, 'references', 'invalid-message-id'],
    [
      'a stored attachment with a bad id',
      { attachments: [{ kind: 'stored', sesMessageId: '../../etc/passwd', index: 0 }] },
      'attachments',
      'required',
    ],
    [
      'a stored attachment with a negative index',
      { attachments: [{ kind: 'stored', sesMessageId: 'abc', index: -1 }] },
      'attachments',
      'required',
    ],
  ])('refuses %s, naming the field', (_label, overrides, field, problem) => {
    // Prepare
    const input = draft(overrides);
    // Act
    const attempt = () => validateDraft(input, alice);
    // Assess
    expect(attempt).toThrow(DraftError);
    expect(attempt).toThrow(InvalidInputError);
    expect(attempt).toThrow(expect.objectContaining({ field, problem }));
  });

  it('accepts exactly the limits', () => {
    // Prepare
    const input = draft({
      to: Array.from({ length: 100 }, (_, i) => ({ name: '', address: `r${i}@partner.test` })),
      subject: 'ü'.repeat(998),
      attachments: [{ kind: 'upload', filename: 'big.bin', contentType: 'application/octet-stream', content: Buffer.alloc(25_000_000) }],
    });
    // Act
    const valid = validateDraft(input, alice);
    // Assess
    expect(valid.to).toHaveLength(100);
  });

  it("neutralizes what is not the user's to fix: paths in filenames, content types with parameters, the token's name", () => {
    // Prepare
    const input = draft({
      attachments: [
        {
          kind: 'upload',
          filename: 'C:\\Users\\alice\\report.pdf',
          contentType: 'Application/PDF; name="x"',
          content: Buffer.from('%PDF'),
        },
      ],
    });
    const identity = { ...alice, name: 'Alice\r\nBcc: evil@attacker.test' };
    // Act
    const valid = validateDraft(input, identity);
    // Assess
    expect(valid.attachments).toEqual([
      { kind: 'upload', filename: 'report.pdf', contentType: 'application/pdf', content: Buffer.from('%PDF') },
    ]);
    expect(valid.from.name).toBe('Alice Bcc: evil@attacker.test');
  });

  it('sends file names without bidi controls or invisible characters, typed or uploaded (invoice\u202Efdp.exe goes out as invoicefdp.exe)', () => {
    // Prepare
    const open = async () => Readable.from([]);
    const input = draft({
      attachments: [
        { kind: 'upload', filename: 'invoice\u202efdp.exe', contentType: 'application/octet-stream', content: Buffer.from('MZ') },
        { kind: 'staged', filename: 'report\u200b\u2067gpj.scr\ufeff', contentType: 'application/octet-stream', size: 2, open },
        { kind: 'staged', filename: '\u202e\u200b', contentType: 'application/octet-stream', size: 2, open },
      ],
    });
    // Act
    const valid = validateDraft(input, alice);
    // Assess
    expect(valid.attachments.map((attachment) => ('filename' in attachment ? attachment.filename : null))).toEqual([
      'invoicefdp.exe',
      'reportgpj.scr',
      'attachment',
    ]);
  });

  it('refuses a typed file name that is nothing but invisible characters, as one without a name', () => {
    // Prepare
    const input = draft({
      attachments: [{ kind: 'upload', filename: '\u202e\u2066', contentType: 'text/plain', content: Buffer.from('x') }],
    });
    // Act
    const outcome = (() => {
      try {
        return validateDraft(input, alice);
      } catch (error) {
        return error;
      }
    })();
    // Assess
    expect(outcome).toBeInstanceOf(DraftError);
    expect(outcome).toMatchObject({ field: 'attachments', problem: 'required' });
  });
});

describe('draftFromForm', () => {
  it('turns the posted fields into a draft that round-trips a reply', () => {
    // Prepare
    const reply = replyDraft(rendered(), alice, { all: true });
    const form = {
      to: formatAddressList(reply.to),
      cc: formatAddressList(reply.cc),
      bcc: '',
      subject: reply.subject,
      text: reply.text,
      inReplyTo: reply.inReplyTo ?? '',
      references: reply.references!.join(' '),
      stored: [{ sesMessageId: 'ses-x', index: 1 }],
    };
    // Act
    const fromForm = draftFromForm(alice, form);
    // Assess
    expect(fromForm.to).toEqual(reply.to);
    expect(fromForm.cc).toEqual(reply.cc);
    expect(fromForm.inReplyTo).toBe('<msg-3@partner.test>');
    expect(fromForm.references).toEqual(reply.references);
    expect(fromForm.attachments).toEqual([{ kind: 'stored', sesMessageId: 'ses-x', index: 1 }]);
  });
});

describe('sendDraft', () => {
  let h: Harness;
  beforeEach(async () => {
    h = harness();
    await h.memory.putAddresses([{ address: 'alice@corp.test', mailbox: 'alice@corp.test' }]);
  });

  it("sends from the user's address to To + Cc + Bcc, Bcc only in the envelope, and keeps a copy in Sent", async () => {
    // Prepare
    const input = draft({
      to: [{ name: 'Zoë Ångström', address: 'zoe@partner.test' }],
      cc: [{ name: 'Doe, Dan', address: 'dan@partner.test' }],
      bcc: [{ name: 'Secret Sam', address: 'sam@partner.test' }],
      subject: 'Grüße – Angebot 📎',
      text: 'Hallo Zoë,\nanbei das Angebot.\n',
      attachments: [
        { kind: 'upload', filename: 'Angebot „final“.pdf', contentType: 'application/pdf', content: Buffer.from('%PDF-1.7 ...') },
      ],
    });
    // Act
    const outcome = await sendDraft(alice, input, h.deps);
    // Assess: the envelope
    expect(h.mailer.sent).toHaveLength(1);
    const { envelope, raw } = h.mailer.sent[0]!;
    expect(envelope).toEqual({ from: 'Alice@corp.test', recipients: ['zoe@partner.test', 'dan@partner.test', 'sam@partner.test'] });
    // Assess: the message as a receiver reads it
    const parsed = await simpleParser(raw);
    expect(parsed.from?.value).toEqual([{ name: 'Alice Ärger', address: 'Alice@corp.test' }]);
    expect(addresses(parsed.to)).toEqual(['zoe@partner.test']);
    expect((parsed.to as AddressObject).value[0]!.name).toBe('Zoë Ångström');
    expect(addresses(parsed.cc)).toEqual(['dan@partner.test']);
    expect((parsed.cc as AddressObject).value[0]!.name).toBe('Doe, Dan');
    expect(parsed.bcc).toBeUndefined();
    expect(raw.toString('latin1')).not.toMatch(/sam@partner\.test|Secret Sam|^bcc:/im);
    expect(parsed.subject).toBe('Grüße – Angebot 📎');
    expect(parsed.text).toBe('Hallo Zoë,\nanbei das Angebot.\n');
    expect(parsed.attachments.map((a) => [a.filename, a.content.toString()])).toEqual([['Angebot „final“.pdf', '%PDF-1.7 ...']]);
    expect(parsed.messageId).toMatch(/^<[0-9a-f-]{36}@corp\.test>$/);
    expect(parsed.messageId).toBe(outcome.messageId);
    expect(parsed.date?.toISOString()).toBe('2030-03-01T12:00:00.000Z');
    expect(parsed.inReplyTo).toBeUndefined();
    // Assess: the Sent copy — the sent bytes with the Bcc field in front
    const copy = h.writer.objects.get('mail/sent/sent-1')!;
    expect(copy.subarray(copy.length - raw.length).equals(raw)).toBe(true);
    expect(addresses((await simpleParser(copy)).bcc)).toEqual(['sam@partner.test']);
    const record = (await h.memory.getMessage('sent-1', h.clock.now()))!;
    expect(record.raw).toEqual({ bucket: 'mail', key: 'sent/sent-1' });
    expect(record.envelopeRecipients).toEqual(['zoe@partner.test', 'dan@partner.test', 'sam@partner.test']);
    expect(record.summary.messageIdHeader).toBe(outcome.messageId);
    expect(record.expiresAt).toBe(Date.parse('2030-03-01T12:00:00.000Z') / 1000 + 28 * 86_400);
    expect(record.size).toBe(copy.length);
    const entries = (await h.memory.listMailboxPage('alice@corp.test', { folder: 'sent', limit: 10 }, h.clock.now())).entries;
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({
      mailbox: 'alice@corp.test',
      sesMessageId: 'sent-1',
      folder: 'sent',
      read: true,
      visibility: 'normal',
      from: ['Alice Ärger <Alice@corp.test>'],
      to: ['Zoë Ångström <zoe@partner.test>'],
      cc: ['"Doe, Dan" <dan@partner.test>'],
      subject: 'Grüße – Angebot 📎',
      snippet: 'Hallo Zoë, anbei das Angebot.',
      attachments: [{ filename: 'Angebot „final“.pdf', contentType: 'application/pdf', size: 12, contentId: null, inline: false }],
    });
    expect(outcome).toMatchObject({
      sesMessageId: 'sent-1',
      providerMessageId: 'provider-1',
      mailbox: 'alice@corp.test',
      sentCopyError: null,
    });
  });

  it('threads a reply: In-Reply-To and References as the receiver parses them', async () => {
    // Prepare
    const reply = replyDraft(rendered(), alice, { all: true });
    const posted = draftFromForm(alice, {
      to: formatAddressList(reply.to),
      cc: formatAddressList(reply.cc),
      subject: reply.subject,
      text: `Thanks!${reply.text}`,
      inReplyTo: reply.inReplyTo ?? '',
      references: reply.references!.join(' '),
    });
    // Act
    await sendDraft(alice, posted, h.deps);
    // Assess
    const parsed = await simpleParser(h.mailer.sent[0]!.raw);
    expect(parsed.subject).toBe('Re: Quarterly numbers');
    expect(parsed.inReplyTo).toBe('<msg-3@partner.test>');
    expect(parsed.references).toEqual(['<msg-1@partner.test>', '<msg-2@corp.test>', '<msg-3@partner.test>']);
    expect(parsed.text).toContain('Thanks!\n\nOn 28 Feb 2030, 09:30 UTC, Bob Partner <bob@partner.test> wrote:\n> Here they are.');
    expect(h.mailer.sent[0]!.envelope.recipients).toEqual([
      'bob@partner.test',
      'carol@partner.test',
      'dan@partner.test',
      'a.alias@corp.test',
    ]);
  });

  describe('header injection through every field is impossible', () => {
    const exactHeaders = ['content-transfer-encoding', 'content-type', 'date', 'from', 'message-id', 'mime-version', 'subject', 'to'];

    it('a From the user chose is ignored and a token name with CRLF is neutralized', async () => {
      // Prepare
      const identity = { ...alice, name: 'Alice\r\nBcc: evil@attacker.test\r\nX-Evil: 1' };
      const input = draft({ from: { name: 'CEO', address: 'ceo@corp.test' } });
      // Act
      await sendDraft(identity, input, h.deps);
      // Assess
      const { raw, envelope } = h.mailer.sent[0]!;
      const parsed = await simpleParser(raw);
      expect(headerNames(raw).sort()).toEqual(exactHeaders);
      expect(parsed.from?.value).toEqual([{ name: 'Alice Bcc: evil@attacker.test X-Evil: 1', address: 'Alice@corp.test' }]);
      expect(envelope).toEqual({ from: 'Alice@corp.test', recipients: ['bob@partner.test'] });
    });

    it('display names full of specials and address look-alikes stay one recipient each', async () => {
      // Prepare
      const input = draft({
        to: [
          { name: 'evil@attacker.test, "Mallory" <mallory@attacker.test>', address: 'bob@partner.test' },
          { name: 'Bcc: evil@attacker.test;', address: 'carol@partner.test' },
        ],
      });
      // Act
      await sendDraft(alice, input, h.deps);
      // Assess
      const { raw, envelope } = h.mailer.sent[0]!;
      const parsed = await simpleParser(raw);
      expect(headerNames(raw).sort()).toEqual(exactHeaders);
      expect(addresses(parsed.to)).toEqual(['bob@partner.test', 'carol@partner.test']);
      expect((parsed.to as AddressObject).value.map((m) => m.name)).toEqual([
        'evil@attacker.test, "Mallory" <mallory@attacker.test>',
        'Bcc: evil@attacker.test;',
      ]);
      expect(envelope.recipients).toEqual(['bob@partner.test', 'carol@partner.test']);
    });

    it('a filename with quotes, semicolons and header syntax stays one filename', async () => {
      // Prepare
      const filename = 'x"; filename="evil.exe"; Content-Type: text-html.txt';
      const input = draft({ attachments: [{ kind: 'upload', filename, contentType: 'text/plain', content: Buffer.from('data') }] });
      // Act
      await sendDraft(alice, input, h.deps);
      // Assess
      const parsed: ParsedMail = await simpleParser(h.mailer.sent[0]!.raw);
      expect(parsed.attachments.map((a) => [a.filename, a.contentType, a.content.toString()])).toEqual([[filename, 'text/plain', 'data']]);
    });

    it.each<[string, Partial<Draft>]>([
      ['subject', { subject: 'Hi\r\nBcc: evil@attacker.test' }],
      ['To name', { to: [{ name: 'Bob\r\nBcc: evil@attacker.test', address: 'bob@partner.test' }] }],
      ['Cc address', { cc: [{ name: '', address: 'dan@partner.test\r\nBcc: evil@attacker.test' }] }],
      ['Bcc address with a comma', { bcc: [{ name: '', address: 'dan@partner.test, evil@attacker.test' }] }],
      [
        'filename',
        {
          attachments: [
            { kind: 'upload', filename: 'a"\r\nBcc: evil@attacker.test', contentType: 'text/plain', content: Buffer.from('x') },
          ],
        },
      ],
      ['In-Reply-To', { inReplyTo: '<a@b.test>\r\nBcc: evil@attacker.test' }],
      ['References', { references: ['<a@b.test>\nBcc: evil@attacker.test'] }],
    ])('through the %s: refused, nothing sent, nothing stored', async (_field, overrides) => {
      // Prepare
      const input = draft(overrides);
      // Act
      const outcome = sendDraft(alice, input, h.deps);
      // Assess
      await expect(outcome).rejects.toBeInstanceOf(DraftError);
      expect(h.mailer.sent).toHaveLength(0);
      expect(h.writer.objects.size).toBe(0);
      expect(h.memory.messages.size).toBe(0);
    });
  });

  describe('forwarding stored attachments', () => {
    beforeEach(async () => {
      await h.memory.putMailboxEntry(inboxEntry('alice@corp.test', 'ses-in-1'));
      await h.memory.putMailboxEntry(inboxEntry('bob@corp.test', 'ses-bob-1'));
      await h.memory.putMailboxEntry(inboxEntry('alice@corp.test', 'ses-virus', 'quarantined'));
    });

    it('streams the stored attachment into the message, opened only at send time', async () => {
      // Prepare
      const content = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 31) % 256));
      const lazy = lazyStream(content);
      h.stored.set('ses-in-1', [
        { filename: 'ignored.txt', contentType: 'text/plain', size: 1, content: Readable.from([]) },
        { filename: 'numbers.xlsx', contentType: 'application/vnd.ms-excel', size: content.length, content: lazy.stream },
      ]);
      const forward = forwardDraft(
        rendered({
          attachments: [
            {
              index: 1,
              filename: 'numbers.xlsx',
              contentType: 'application/vnd.ms-excel',
              size: content.length,
              contentId: null,
              inline: false,
            },
          ],
        }),
        alice,
        { sesMessageId: 'ses-in-1' },
      );
      const input = { ...forward, to: [{ name: '', address: 'dan@partner.test' }] };
      // Act
      const readsBefore = lazy.reads();
      await sendDraft(alice, input, h.deps);
      // Assess
      expect(readsBefore).toBe(0);
      expect(h.resolverCalls).toEqual([{ sesMessageId: 'ses-in-1', index: 1 }]);
      expect(lazy.reads()).toBeGreaterThan(content.length / (16 * 1024));
      const parsed = await simpleParser(h.mailer.sent[0]!.raw);
      expect(parsed.subject).toBe('Fwd: Quarterly numbers');
      expect(parsed.attachments.map((a) => [a.filename, a.contentType])).toEqual([['numbers.xlsx', 'application/vnd.ms-excel']]);
      expect(parsed.attachments[0]!.content.equals(content)).toBe(true);
      const [entry] = (await h.memory.listMailboxPage('alice@corp.test', { folder: 'sent', limit: 1 }, h.clock.now())).entries;
      expect(entry).toMatchObject({ folder: 'sent', attachments: [{ filename: 'numbers.xlsx', size: content.length }] });
    });

    it.each([
      ['of another mailbox', 'ses-bob-1'],
      ['that is quarantined', 'ses-virus'],
      ['that does not exist', 'ses-nothing'],
    ])('refuses an attachment of a message %s as not found, sending nothing', async (_label, sesMessageId) => {
      // Prepare
      h.stored.set(sesMessageId, [
        { filename: 'a.txt', contentType: 'text/plain', size: 4, content: Readable.from([Buffer.from('data')]) },
      ]);
      const input = draft({ attachments: [{ kind: 'stored', sesMessageId, index: 0 }] });
      // Act
      const outcome = sendDraft(alice, input, h.deps);
      // Assess
      await expect(outcome).rejects.toBeInstanceOf(NotFoundError);
      expect(h.mailer.sent).toHaveLength(0);
      expect(h.writer.objects.size).toBe(0);
      if (sesMessageId !== 'ses-in-1') expect(h.resolverCalls).toEqual([]);
    });

    it('counts streamed bytes: a stored attachment larger than it claimed stops the send', async () => {
      // Prepare
      const limits = { maxAttachmentBytes: 100_000 };
      h.deps.config.limits = limits;
      const lazy = lazyStream(Buffer.alloc(150_000, 1));
      h.stored.set('ses-in-1', [{ filename: 'liar.bin', contentType: 'application/octet-stream', size: 10, content: lazy.stream }]);
      const input = draft({ attachments: [{ kind: 'stored', sesMessageId: 'ses-in-1', index: 0 }] });
      // Act
      const outcome = sendDraft(alice, input, h.deps);
      // Assess
      await expect(outcome).rejects.toThrow(expect.objectContaining({ field: 'attachments', problem: 'too-large' }));
      expect(h.mailer.sent).toHaveLength(0);
      expect(lazy.stream.destroyed).toBe(true);
    });

    it('forwards a received message end to end with the real renderer: attachment streamed out of the stored raw bytes', async () => {
      // Prepare: a received message with two attachments, stored and indexed for alice
      const pdf = Buffer.from(Array.from({ length: 2 * 1024 * 1024 }, (_, i) => (i * 131) % 256));
      const received = await new NodemailerMimeComposer().compose({
        from: { name: 'Bob Partner', address: 'bob@partner.test' },
        to: [{ name: '', address: 'alice@corp.test' }],
        cc: [],
        subject: 'AW: Vertrag',
        text: 'Anbei der Vertrag.\n',
        messageId: '<in-1@partner.test>',
        date: new Date('2030-02-28T09:30:00Z'),
        inReplyTo: null,
        references: [],
        attachments: [
          { filename: 'Vertrag – final.pdf', contentType: 'application/pdf', content: pdf },
          { filename: 'notes.txt', contentType: 'text/plain', content: Buffer.from('notes\r\n') },
        ],
      });
      const rawStore = new MemoryRawMailStore();
      rawStore.put({ bucket: 'inbound', key: 'ses-in-1' }, received);
      await h.memory.putMessage({
        sesMessageId: 'ses-in-1',
        raw: { bucket: 'inbound', key: 'ses-in-1' },
        expiresAt: 2_000_000_000,
      } as MessageRecord);
      const renderer = new MailparserMessageRenderer();
      h.deps.resolveAttachment = storedAttachmentResolver({ index: h.memory, rawStore, renderer, clock: h.clock });
      const original = await renderer.render(await rawStore.open({ bucket: 'inbound', key: 'ses-in-1' }), {
        allowRemote: false,
        cidUrl: (id) => `/cid/${id}`,
      });
      const forward = forwardDraft(original, alice, { sesMessageId: 'ses-in-1' });
      const posted = draftFromForm(alice, {
        to: 'dan@partner.test',
        subject: forward.subject,
        text: `FYI${forward.text}`,
        stored: forward.attachments
          .filter((a) => a.kind === 'stored' && a.filename?.endsWith('.pdf'))
          .map((a) => ({ sesMessageId: 'ses-in-1', index: (a as { index: number }).index })),
      });
      // Act
      await sendDraft(alice, posted, h.deps);
      // Assess
      const parsed = await simpleParser(h.mailer.sent[0]!.raw);
      expect(parsed.subject).toBe('Fwd: AW: Vertrag');
      expect(parsed.text).toContain('FYI\n\n-------- Forwarded Message --------\nSubject: AW: Vertrag\n');
      expect(parsed.attachments.map((a) => [a.filename, a.contentType])).toEqual([['Vertrag – final.pdf', 'application/pdf']]);
      expect(parsed.attachments[0]!.content.equals(pdf)).toBe(true);
      const [entry] = (await h.memory.listMailboxPage('alice@corp.test', { folder: 'sent', limit: 1 }, h.clock.now())).entries;
      expect(entry!.attachments).toEqual([
        { filename: 'Vertrag – final.pdf', contentType: 'application/pdf', size: pdf.length, contentId: null, inline: false },
      ]);
    });

    it('resolves stored attachments through index, raw store and renderer', async () => {
      // Prepare
      const rawStore = new MemoryRawMailStore();
      rawStore.put({ bucket: 'inbound', key: 'ses-in-1' }, 'the raw message bytes');
      const memory = new MemoryMessageIndex();
      await memory.putMessage({
        sesMessageId: 'ses-in-1',
        raw: { bucket: 'inbound', key: 'ses-in-1' },
        expiresAt: 2_000_000_000,
      } as MessageRecord);
      const seen: { raw: string; which: unknown }[] = [];
      const renderer = {
        async openAttachment(raw: Readable, which: { index: number } | { contentId: string }) {
          const chunks: Buffer[] = [];
          for await (const chunk of raw) chunks.push(Buffer.from(chunk as Buffer));
          seen.push({ raw: Buffer.concat(chunks).toString(), which });
          if ('index' in which && which.index !== 0) return null;
          return {
            attachment: { index: 0, filename: 'a.pdf', contentType: 'application/pdf', size: 3, contentId: null, inline: false },
            content: Readable.from([Buffer.from('PDF')]),
          };
        },
      };
      const resolve = storedAttachmentResolver({ index: memory, rawStore, renderer, clock: h.clock });
      // Act
      const found = await resolve({ sesMessageId: 'ses-in-1', index: 0 });
      const missingIndex = await resolve({ sesMessageId: 'ses-in-1', index: 5 });
      const missingMessage = await resolve({ sesMessageId: 'ses-gone', index: 0 });
      // Assess
      expect(found).toMatchObject({ filename: 'a.pdf', contentType: 'application/pdf', size: 3 });
      expect(missingIndex).toBeNull();
      expect(missingMessage).toBeNull();
      expect(seen).toEqual([
        { raw: 'the raw message bytes', which: { index: 0 } },
        { raw: 'the raw message bytes', which: { index: 5 } },
      ]);
    });
  });

  it("a failed send leaves no index entry and reports the mailer's error", async () => {
    // Prepare
    h.mailer.fail = new Error('SES down');
    // Act
    const outcome = sendDraft(alice, draft(), h.deps);
    // Assess
    await expect(outcome).rejects.toThrow('SES down');
    expect(h.memory.messages.size).toBe(0);
    expect(h.memory.entries.size).toBe(0);
  });

  it('an index failure after the mail went out is reported, not thrown (no resend)', async () => {
    // Prepare
    const failing = harness({ failIndexWrites: true });
    // Act
    const outcome = await sendDraft(alice, draft(), failing.deps);
    // Assess
    expect(failing.mailer.sent).toHaveLength(1);
    expect(outcome.sentCopyError).toBeInstanceOf(Error);
    expect(failing.writer.objects.size).toBe(1);
  });

  it('refuses a composed message over the size limit before sending', async () => {
    // Prepare
    h.deps.config.limits = { maxMessageBytes: 2_000 };
    const input = draft({
      attachments: [{ kind: 'upload', filename: 'a.bin', contentType: 'application/octet-stream', content: Buffer.alloc(3_000) }],
    });
    // Act
    const outcome = sendDraft(alice, input, h.deps);
    // Assess
    await expect(outcome).rejects.toThrow(expect.objectContaining({ field: 'attachments', problem: 'too-large' }));
    expect(h.mailer.sent).toHaveLength(0);
  });
});

// The IMAP adapter of `shadowmail reconcile` against a real Dovecot (test/support/dovecot.ts)
// logged in as its master user with SASL PLAIN authzid: appended bytes, flags and internal
// date read back from the maildir files (not through IMAP), the date window of Message-IDs,
// the Sent folder by SPECIAL-USE or by name (German, and a server without SPECIAL-USE),
// marking read, read-only, and each failure as one ImapError: wrong password (tried once,
// not per mailbox), unknown mailbox, TLS. What Dovecot will not do is played by scripted
// servers: refused connection, a server that never answers (or trickles), one that refuses
// SEARCH or STORE, hangs up mid-session or sends an oversized answer, and Exchange's
// delegate login, checked on the wire.
import { createServer, type Server, type Socket } from 'node:net';
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ImapflowMailboxes, type ImapflowMailboxesOptions, messageIdOf } from '../../../../../lambdas/adapters/imap/imapflow-mailboxes.ts';
import { ImapError, InvalidInputError } from '../../../../../lambdas/core/errors.ts';
import { type Dovecot, startDovecot } from '../../../../support/dovecot.ts';
import { freePort } from '../../../../support/wait.ts';

const WINDOW = { since: new Date('2026-11-02T00:00:00Z'), until: new Date('2026-11-05T00:00:00Z') };
const NAMES = ['Sent Items', 'Gesendete Elemente', 'Sent'];

function message(id: string | null, date: string, extra = ''): Buffer {
  return Buffer.from(
    [
      'From: Alice Example <alice@corp.test>',
      'To: Carol <carol@example.org>',
      `Subject: Re: Lage ${id ?? 'ohne ID'} äöü`,
      `Date: ${new Date(date).toUTCString()}`,
      ...(id ? [`Message-ID: ${id}`] : []),
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=utf-8',
      'Content-Transfer-Encoding: 8bit',
      '',
      `Grüße aus dem Notbetrieb.${extra}`,
      '',
    ].join('\r\n'),
  );
}

let dovecot: Dovecot;

function adapter(overrides: Partial<ImapflowMailboxesOptions> = {}): ImapflowMailboxes {
  return new ImapflowMailboxes({
    url: `imaps://127.0.0.1:${dovecot.imapsPort}`,
    user: dovecot.serviceUser,
    password: async () => dovecot.servicePassword,
    login: 'plain-authzid',
    ca: dovecot.caPem,
    timeoutMs: 5_000,
    ...overrides,
  });
}

async function rejection(promise: Promise<unknown>): Promise<ImapError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, 'expected an ImapError').toBeInstanceOf(ImapError);
  return error as ImapError;
}

/** Where `secret` shows in an error as printed with its whole cause chain: plain, or inside SASL PLAIN's base64. */
function leaks(error: unknown, secret: string): string[] {
  const printed = inspect(error, { depth: null, showHidden: true });
  const decoded = [...printed.matchAll(/[A-Za-z0-9+/]{16,}={0,2}/g)].map((m) => Buffer.from(m[0], 'base64').toString('latin1'));
  return [printed, ...decoded].filter((text) => text.includes(secret)).map((text) => text.slice(0, 200));
}

beforeAll(async () => {
  dovecot = await startDovecot({
    users: ['alice', 'bob', 'erin', 'frank', 'grace'],
    germanSent: ['bob'],
    sentFolders: { frank: 'Éléments envoyés', grace: null },
  });
});

afterAll(async () => {
  await dovecot?.stop();
});

describe('ImapflowMailboxes against Dovecot (SASL PLAIN with authzid)', () => {
  it('appends byte for byte to the Sent folder of the mailbox it opened, with \\Seen and the original date', async () => {
    const raw = message('<reply-1@corp.test>', '2026-11-03T09:15:00Z');
    const date = new Date('2026-11-03T09:15:07Z');
    const mailbox = await adapter().open(dovecot.address('alice'), { readOnly: false });
    try {
      expect(await mailbox.findSentFolder(NAMES)).toBe('Sent');
      await mailbox.append('Sent', raw, date);
    } finally {
      await mailbox.close();
    }
    const stored = await dovecot.messages('alice', 'Sent');
    expect(stored).toHaveLength(1);
    expect(stored[0]!.raw.equals(raw)).toBe(true);
    expect(stored[0]!.flags).toEqual(['\\Seen']);
    expect(stored[0]!.internalDate.toISOString()).toBe(date.toISOString());
    // the authorization identity decided whose mailbox it was
    expect(await dovecot.messages('erin', 'Sent')).toEqual([]);
  });

  it('lists the Message-IDs of the window from the fetched headers (a day of slack), not from the body', async () => {
    const mailbox = await adapter().open(dovecot.address('erin'), { readOnly: false });
    try {
      await mailbox.append('Sent', message('<in-1@corp.test>', '2026-11-02T08:00:00Z'), new Date('2026-11-02T08:00:00Z'));
      await mailbox.append('Sent', message('<in-2@corp.test>', '2026-11-04T23:00:00Z'), new Date('2026-11-04T23:00:00Z'));
      // folded header field: the id is on the continuation line
      await mailbox.append(
        'Sent',
        Buffer.from('Message-ID:\r\n <folded@corp.test>\r\nSubject: x\r\n\r\nx\r\n'),
        new Date('2026-11-03T00:00:00Z'),
      );
      await mailbox.append(
        'Sent',
        Buffer.from('Message-ID: <commented@corp.test> (webmail)\r\n\r\nx\r\n'),
        new Date('2026-11-03T00:00:00Z'),
      );
      await mailbox.append(
        'Sent',
        message(null, '2026-11-03T10:00:00Z', '\r\nMessage-ID: <in-body@corp.test>'),
        new Date('2026-11-03T10:00:00Z'),
      );
      await mailbox.append('Sent', message('<long-before@corp.test>', '2026-10-20T10:00:00Z'), new Date('2026-10-20T10:00:00Z'));
      await mailbox.append('Sent', message('<long-after@corp.test>', '2026-11-20T10:00:00Z'), new Date('2026-11-20T10:00:00Z'));
      const ids = await mailbox.messageIds('Sent', WINDOW);
      expect([...ids].sort()).toEqual(['<commented@corp.test>', '<folded@corp.test>', '<in-1@corp.test>', '<in-2@corp.test>']);
    } finally {
      await mailbox.close();
    }
  });

  it('reads the ids of a folder larger than one FETCH batch', async () => {
    const count = 1_100;
    for (let i = 0; i < count; i += 1) {
      await dovecot.deliver('erin', message(`<bulk-${i}@example.org>`, '2026-11-03T12:00:00Z'), new Date('2026-11-03T12:00:00Z'));
    }
    const mailbox = await adapter().open(dovecot.address('erin'), { readOnly: true });
    try {
      const ids = await mailbox.messageIds('INBOX', WINDOW);
      expect(ids.size).toBe(count);
      expect(ids.has('<bulk-0@example.org>') && ids.has(`<bulk-${count - 1}@example.org>`)).toBe(true);
    } finally {
      await mailbox.close();
    }
    // EXAMINE and BODY.PEEK: reading the ids marked nothing read
    expect((await dovecot.messages('erin', 'INBOX')).filter((m) => m.flags.length > 0)).toEqual([]);
  });

  it('finds a German Sent folder without SPECIAL-USE by its name only (no guess from imapflow)', async () => {
    const mailbox = await adapter().open(dovecot.address('bob'), { readOnly: true });
    try {
      expect(await mailbox.findSentFolder(['Sent Items', 'gesendete elemente'])).toBe('Gesendete Elemente');
      // imapflow guesses \Sent from this name; the adapter trusts only the server's attribute
      expect(await mailbox.findSentFolder(['Sent Items'])).toBeNull();
      expect([...(await mailbox.messageIds('Gesendete Elemente', WINDOW))]).toEqual([]);
    } finally {
      await mailbox.close();
    }
  });

  it('finds and fills a Sent folder with a non-ASCII name (modified UTF-7 on the wire), and finds none where there is none', async () => {
    const raw = message('<merci@corp.test>', '2026-11-03T10:00:00Z');
    const frank = await adapter().open(dovecot.address('frank'), { readOnly: false });
    try {
      const folder = await frank.findSentFolder(['Sent Items', 'éléments ENVOYÉS']);
      expect(folder).toBe('Éléments envoyés');
      await frank.append(folder!, raw, new Date('2026-11-03T10:00:00Z'));
      expect([...(await frank.messageIds(folder!, WINDOW))]).toEqual(['<merci@corp.test>']);
    } finally {
      await frank.close();
    }
    expect((await dovecot.messages('frank', 'Éléments envoyés')).map((m) => m.raw.equals(raw))).toEqual([true]);
    const grace = await adapter().open(dovecot.address('grace'), { readOnly: true });
    try {
      expect(await grace.findSentFolder(NAMES)).toBeNull();
    } finally {
      await grace.close();
    }
  });

  it('marks read by Message-ID in INBOX and says which it found', async () => {
    await dovecot.deliver('bob', message('<read-in-webmail@example.org>', '2026-11-03T08:00:00Z'), new Date('2026-11-06T12:00:00Z'));
    await dovecot.deliver('bob', message('<unread@example.org>', '2026-11-03T08:05:00Z'), new Date('2026-11-06T12:00:01Z'));
    const mailbox = await adapter().open(dovecot.address('bob'), { readOnly: false });
    try {
      const found = await mailbox.markSeen('INBOX', ['<read-in-webmail@example.org>', '<not-delivered-yet@example.org>'], WINDOW);
      expect([...found]).toEqual(['<read-in-webmail@example.org>']);
    } finally {
      await mailbox.close();
    }
    const inbox = await dovecot.messages('bob', 'INBOX');
    const flagsOf = (id: string) => inbox.find((m) => messageIdOf(m.raw) === id)?.flags;
    expect(flagsOf('<read-in-webmail@example.org>')).toEqual(['\\Seen']);
    expect(flagsOf('<unread@example.org>')).toEqual([]);
  });

  it('opened read-only, reads but refuses to append or mark read, and the folder stays as it was', async () => {
    const before = await dovecot.messages('alice', 'Sent');
    const mailbox = await adapter().open(dovecot.address('alice'), { readOnly: true });
    try {
      expect((await mailbox.messageIds('Sent', WINDOW)).has('<reply-1@corp.test>')).toBe(true);
      const error = await rejection(mailbox.append('Sent', message('<dry@corp.test>', '2026-11-03T09:00:00Z'), new Date()));
      expect(error.fault).toBe('refused');
      expect(error.message).toMatch(/read-only/);
      expect((await rejection(mailbox.markSeen('INBOX', ['<x@y>'], WINDOW))).fault).toBe('refused');
    } finally {
      await mailbox.close();
    }
    expect(await dovecot.messages('alice', 'Sent')).toEqual(before);
  });

  it('answers an APPEND to a missing folder with the server reply', async () => {
    const mailbox = await adapter().open(dovecot.address('alice'), { readOnly: false });
    try {
      const error = await rejection(mailbox.append('Sent Items', message('<x@corp.test>', '2026-11-03T09:00:00Z'), new Date()));
      expect(error.fault).toBe('refused');
      expect(error.message).toMatch(/no such folder: NO \[TRYCREATE\] Mailbox doesn't exist: Sent Items/);
      // imapflow sends nothing for an empty folder name and says nothing either
      expect((await rejection(mailbox.append('', message('<y@corp.test>', '2026-11-03T09:00:00Z'), new Date()))).fault).toBe('refused');
    } finally {
      await mailbox.close();
    }
  });

  it('answers an unknown mailbox with fault "mailbox" and the server reply', async () => {
    const error = await rejection(adapter().open(dovecot.address('carol'), { readOnly: true }));
    expect(error.fault).toBe('mailbox');
    expect(error.message).toContain('carol@corp.test');
    expect(error.message).toContain('NO [AUTHORIZATIONFAILED]');
  });

  it('answers a wrong password with fault "auth", without the password, and does not try it on the next mailbox', async () => {
    const secret = 'Wrong-Secret-4711';
    const mailboxes = adapter({ password: async () => secret });
    const first = await rejection(mailboxes.open(dovecot.address('alice'), { readOnly: true }));
    expect(first.fault).toBe('auth');
    expect(first.message).toContain('NO [AUTHENTICATIONFAILED]');
    expect(first.message).not.toContain(secret);
    // nor anywhere in what a caller might print: the cause chain with imapflow's error and the command it sent
    expect(leaks(first, secret)).toEqual([]);
    // the same answer without a second login (a wrong password tried per mailbox could lock the account)
    expect(await rejection(mailboxes.open(dovecot.address('bob'), { readOnly: true }))).toBe(first);
  });
});

describe('TLS', () => {
  it('upgrades imap:// with STARTTLS, and refuses imap:// without it unless clear text is allowed', async () => {
    const url = `imap://127.0.0.1:${dovecot.port}`;
    const tls = await adapter({ url, startTls: true }).open(dovecot.address('alice'), { readOnly: true });
    await tls.close();
    expect(() => adapter({ url })).toThrow(InvalidInputError);
    expect(() => adapter({ url: `imaps://127.0.0.1:${dovecot.imapsPort}`, startTls: true })).toThrow(InvalidInputError);
    expect(() => adapter({ url: `imap://svc:pw@127.0.0.1:${dovecot.port}`, startTls: true })).toThrow(/only a host and a port/);
    const clear = await adapter({ url, allowCleartext: true }).open(dovecot.address('alice'), { readOnly: true });
    await clear.close();
  });

  it('refuses a server certificate it cannot verify', async () => {
    const error = await rejection(adapter({ ca: undefined }).open(dovecot.address('alice'), { readOnly: true }));
    expect(error.fault).toBe('unreachable');
    expect(error.message).toMatch(/TLS|certificate/i);
  });
});

describe('a server without SPECIAL-USE (like Exchange 2016/2019 IMAP4)', () => {
  let plain: Dovecot;
  beforeAll(async () => {
    plain = await startDovecot({ users: ['alice'], specialUse: false });
  });
  afterAll(async () => {
    await plain?.stop();
  });

  const mailboxes = () =>
    new ImapflowMailboxes({
      url: `imaps://127.0.0.1:${plain.imapsPort}`,
      user: plain.serviceUser,
      password: async () => plain.servicePassword,
      login: 'plain-authzid',
      ca: plain.caPem,
    });

  it('finds the Sent folder by the configured names, case-insensitively, and only by them', async () => {
    const mailbox = await mailboxes().open(plain.address('alice'), { readOnly: true });
    try {
      expect(await mailbox.findSentFolder([])).toBeNull();
      expect(await mailbox.findSentFolder(['Gesendete Elemente', 'SENT'])).toBe('Sent');
    } finally {
      await mailbox.close();
    }
  });

  it('appends 8-bit bytes unchanged, lists them and marks read without BINARY, CONDSTORE or ESEARCH', async () => {
    const raw = message('<exchange-like@corp.test>', '2026-11-03T09:00:00Z');
    await plain.deliver('alice', message('<inbound@example.org>', '2026-11-03T07:00:00Z'), new Date('2026-11-07T08:00:00Z'));
    const mailbox = await mailboxes().open(plain.address('alice'), { readOnly: false });
    try {
      await mailbox.append('Sent', raw, new Date('2026-11-03T09:00:00Z'));
      expect([...(await mailbox.messageIds('Sent', WINDOW))]).toEqual(['<exchange-like@corp.test>']);
      expect([...(await mailbox.markSeen('INBOX', ['<inbound@example.org>'], WINDOW))]).toEqual(['<inbound@example.org>']);
    } finally {
      await mailbox.close();
    }
    const [stored] = await plain.messages('alice', 'Sent');
    expect(stored!.raw.equals(raw)).toBe(true);
    expect(stored!.flags).toEqual(['\\Seen']);
    expect((await plain.messages('alice', 'INBOX')).map((m) => m.flags)).toEqual([['\\Seen']]);
  });
});

describe('against scripted servers (what Dovecot will not do)', () => {
  const servers: Server[] = [];
  const sockets: Socket[] = [];
  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  });

  /** A TCP server on 127.0.0.1 that runs `onConnection` for each client. */
  async function scripted(onConnection: (socket: Socket) => void): Promise<number> {
    const server = createServer((socket) => {
      sockets.push(socket);
      socket.on('error', () => undefined);
      onConnection(socket);
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return (server.address() as { port: number }).port;
  }

  /** A scripted IMAP server: sends `greeting`, then calls `answer` with each command line (tag, command upper-cased, the line). */
  function imapScript(greeting: string, answer: (socket: Socket, tag: string, command: string, line: string) => void): Promise<number> {
    return scripted((socket) => {
      socket.write(`${greeting}\r\n`);
      let buffer = '';
      socket.on('data', (chunk) => {
        buffer += chunk.toString('latin1');
        for (let end = buffer.indexOf('\r\n'); end >= 0; end = buffer.indexOf('\r\n')) {
          const line = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const [tag = '', command = ''] = line.split(' ');
          answer(socket, tag, command.toUpperCase(), line);
        }
      });
    });
  }

  it('answers a refused connection with fault "unreachable"', async () => {
    const port = await freePort();
    const error = await rejection(adapter({ url: `imaps://127.0.0.1:${port}` }).open(dovecot.address('alice'), { readOnly: true }));
    expect(error.fault).toBe('unreachable');
    expect(error.message).toContain('ECONNREFUSED');
  });

  const greet = (socket: Socket) => socket.write('* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready\r\n');
  it.each([
    ['accepts and never says a word', () => undefined],
    ['greets and then never answers the login', greet],
    [
      // untagged chatter every 100 ms keeps the socket busy, so only a bound on the command itself ends this
      'keeps talking but never completes the login',
      (socket: Socket) => {
        greet(socket);
        const chatter = setInterval(() => socket.writable && socket.write('* OK still thinking\r\n'), 100);
        socket.on('close', () => clearInterval(chatter));
      },
    ],
  ])('gives up on a server that %s, within the timeout', async (_, behaviour) => {
    const port = await scripted(behaviour);
    const started = Date.now();
    const error = await rejection(
      adapter({ url: `imap://127.0.0.1:${port}`, allowCleartext: true, timeoutMs: 700 }).open(dovecot.address('alice'), { readOnly: true }),
    );
    expect(error.fault).toBe('timeout');
    expect(error.message).toMatch(/127\.0\.0\.1:\d+: (no answer to connect and login within 700 ms|did not answer in time)/);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('stops reading an answer larger than it could need, with the reason', async () => {
    const port = await imapScript('* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready', (socket, tag, command) => {
      if (command === 'AUTHENTICATE') socket.write(`${tag} OK [CAPABILITY IMAP4rev1] logged in\r\n`);
      else if (command === 'LIST') {
        // a folder name announced as a 64 MB literal: refused from its size, before the bytes arrive
        socket.write(`* LIST () "/" {${64 * 1024 * 1024}}\r\n`);
        socket.write(Buffer.alloc(1024 * 1024, 'x'));
      } else socket.write(`${tag} OK done\r\n`);
    });
    const sentFolder = async () => {
      // imapflow may LIST while it sets up the session, or only when asked: the answer is refused either way
      const mailbox = await adapter({ url: `imap://127.0.0.1:${port}`, allowCleartext: true, timeoutMs: 2_000 }).open('alice@corp.test', {
        readOnly: true,
      });
      return mailbox.findSentFolder(NAMES).finally(() => mailbox.close());
    };
    const error = await rejection(sentFolder());
    expect(error.fault).toBe('refused');
    expect(error.message).toContain('LiteralTooLarge');
  });

  /**
   * A logged-in session on one folder holding one message (UID 7, `<only@corp.test>`) whose
   * server refuses `refuse` (SEARCH or STORE) with a NO, as a server may refuse a criterion
   * it does not support or a flag change.
   */
  function oneMessage(behaviour: { refuse?: 'SEARCH' | 'STORE'; hangUpAfter?: 'FETCH' }): Promise<number> {
    const header = 'Message-ID: <only@corp.test>\r\n\r\n';
    return imapScript('* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready', (socket, tag, command, line) => {
      const uidCommand = command === 'UID' ? line.split(' ')[2]!.toUpperCase() : command;
      if (uidCommand === behaviour.hangUpAfter) setTimeout(() => socket.end('* BYE shutting down for maintenance\r\n'), 20);
      if (uidCommand === behaviour.refuse) socket.write(`${tag} NO ${behaviour.refuse} refused by policy\r\n`);
      else if (command === 'SELECT' || command === 'EXAMINE')
        socket.write(
          `* 1 EXISTS\r\n* FLAGS (\\Seen)\r\n* OK [PERMANENTFLAGS (\\Seen)] ok\r\n* OK [UIDVALIDITY 1] ok\r\n* OK [UIDNEXT 8] ok\r\n${tag} OK [${command === 'SELECT' ? 'READ-WRITE' : 'READ-ONLY'}] done\r\n`,
        );
      else if (uidCommand === 'SEARCH') socket.write(`* SEARCH 7\r\n${tag} OK done\r\n`);
      else if (uidCommand === 'FETCH')
        socket.write(`* 1 FETCH (UID 7 BODY[HEADER.FIELDS (MESSAGE-ID)] {${header.length}}\r\n${header})\r\n${tag} OK done\r\n`);
      else socket.write(`${tag} OK done\r\n`);
    });
  }

  it('answers a SEARCH the server refuses with fault "refused", never with "no messages" (else every run would append again)', async () => {
    const port = await oneMessage({ refuse: 'SEARCH' });
    const mailbox = await adapter({ url: `imap://127.0.0.1:${port}`, allowCleartext: true }).open('alice@corp.test', { readOnly: true });
    try {
      const error = await rejection(mailbox.messageIds('Sent', WINDOW));
      expect(error.fault).toBe('refused');
      expect(error.message).toMatch(/alice@corp\.test: SEARCH in Sent: NO SEARCH refused by policy/);
    } finally {
      await mailbox.close();
    }
  });

  it('answers a STORE the server refuses with fault "refused", never with "marked read"', async () => {
    const port = await oneMessage({ refuse: 'STORE' });
    const mailbox = await adapter({ url: `imap://127.0.0.1:${port}`, allowCleartext: true }).open('alice@corp.test', { readOnly: false });
    try {
      expect([...(await mailbox.messageIds('INBOX', WINDOW))]).toEqual(['<only@corp.test>']);
      const error = await rejection(mailbox.markSeen('INBOX', ['<only@corp.test>'], WINDOW));
      expect(error.fault).toBe('refused');
      expect(error.message).toMatch(/alice@corp\.test: STORE \\Seen in INBOX: NO STORE refused by policy/);
    } finally {
      await mailbox.close();
    }
  });

  it('answers every step after the server hung up with fault "unreachable", never with success', async () => {
    const port = await oneMessage({ hangUpAfter: 'FETCH' });
    const mailbox = await adapter({ url: `imap://127.0.0.1:${port}`, allowCleartext: true }).open('alice@corp.test', { readOnly: false });
    // INBOX stays selected when the server goes: the next steps must not take the closed session for an empty one
    expect([...(await mailbox.messageIds('INBOX', WINDOW))]).toEqual(['<only@corp.test>']);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const raw = message('<lost@corp.test>', '2026-11-03T09:00:00Z');
    for (const step of [
      () => mailbox.append('Sent', raw, new Date()),
      () => mailbox.messageIds('INBOX', WINDOW),
      () => mailbox.markSeen('INBOX', ['<x@y>'], WINDOW),
      () => mailbox.findSentFolder(NAMES),
    ]) {
      const error = await rejection(step());
      expect(error.fault).toBe('unreachable');
      expect(error.message).toMatch(/the connection is closed/);
    }
    await mailbox.close();
  });

  /** Exchange's greeting and CAPABILITY; LOGIN as `accept` decides; every other command OK. */
  function exchangeLike(lines: string[], accept: (line: string) => boolean): Promise<number> {
    return imapScript('* OK The Microsoft Exchange IMAP4 service is ready.', (socket, tag, command, line) => {
      lines.push(line);
      if (command === 'CAPABILITY')
        socket.write(
          `* CAPABILITY IMAP4 IMAP4rev1 AUTH=NTLM LITERAL+ UIDPLUS CHILDREN IDLE NAMESPACE\r\n${tag} OK CAPABILITY completed.\r\n`,
        );
      else if (command === 'LOGIN') socket.write(accept(line) ? `${tag} OK LOGIN completed.\r\n` : `${tag} NO LOGIN failed.\r\n`);
      else if (command === 'LOGOUT')
        socket.end(`* BYE Microsoft Exchange Server IMAP4 server signing off.\r\n${tag} OK LOGOUT completed.\r\n`);
      else socket.write(`${tag} OK ${command} completed.\r\n`);
    });
  }

  it("logs in with Exchange's delegate form: LOGIN service\\mailbox as one quoted user name", async () => {
    const lines: string[] = [];
    const port = await exchangeLike(lines, () => false);
    const mailboxes = adapter({
      url: `imap://127.0.0.1:${port}`,
      allowCleartext: true,
      login: 'exchange',
      user: 'svc-reconcile@corp.test',
    });
    const error = await rejection(mailboxes.open('alice@corp.test', { readOnly: true }));
    expect(lines.find((l) => / LOGIN /i.test(l))).toMatch(/^\S+ LOGIN "svc-reconcile@corp\.test\\\\alice@corp\.test" "reconcile-secret"$/);
    // a plain NO is ambiguous before any login worked: the account (or its FullAccess) is refused, and not tried again
    expect(error.fault).toBe('auth');
    expect(error.message).toContain('NO LOGIN failed.');
    expect(error.message).not.toContain('reconcile-secret');
    expect(leaks(error, 'reconcile-secret')).toEqual([]);
  });

  it('takes a plain NO for the mailbox, not the account, once the account has opened another mailbox', async () => {
    const lines: string[] = [];
    const port = await exchangeLike(lines, (line) => line.includes('\\\\alice@'));
    const mailboxes = adapter({ url: `imap://127.0.0.1:${port}`, allowCleartext: true, login: 'exchange', exchangeSeparator: '/' });
    await expect(mailboxes.open('bob@corp.test', { readOnly: true })).rejects.toMatchObject({ fault: 'auth' });
    // the account was refused at first sight: nothing more is tried with it
    const logins = () => lines.filter((l) => / LOGIN /i.test(l)).length;
    expect(logins()).toBe(1);
    await expect(mailboxes.open('alice@corp.test', { readOnly: true })).rejects.toMatchObject({ fault: 'auth' });
    expect(logins()).toBe(1);

    const fresh = adapter({ url: `imap://127.0.0.1:${port}`, allowCleartext: true, login: 'exchange' });
    const alice = await fresh.open('alice@corp.test', { readOnly: true });
    await alice.close();
    const error = await rejection(fresh.open('bob@corp.test', { readOnly: true }));
    expect(error.fault).toBe('mailbox');
    expect(error.message).toMatch(
      /refused reconcile@corp\.test for bob@corp\.test, after accepting it for other mailboxes.*NO LOGIN failed\./,
    );
  });

  it('fails when STARTTLS is required and the server does not offer it', async () => {
    const port = await imapScript('* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] no TLS here', (socket, tag, command) => {
      if (command === 'CAPABILITY') socket.write(`* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n${tag} OK done\r\n`);
      else socket.write(`${tag} NO not here\r\n`);
    });
    const error = await rejection(adapter({ url: `imap://127.0.0.1:${port}`, startTls: true }).open('alice@corp.test', { readOnly: true }));
    expect(error.fault).toBe('unreachable');
    expect(error.message).toMatch(/no TLS connection: .*STARTTLS/);
  });
});

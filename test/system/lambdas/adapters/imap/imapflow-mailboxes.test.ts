// The IMAP adapter of `shadowmail reconcile` against a real Dovecot (test/support/dovecot.ts)
// logged in as its master user with SASL PLAIN authzid: appended bytes, flags and internal
// date read back from the maildir files (not through IMAP), the date window of Message-IDs,
// the Sent folder by SPECIAL-USE or by name (German, and a server without SPECIAL-USE),
// marking read, read-only, and each failure as one ImapError: wrong password (tried once,
// not per mailbox), unknown mailbox, refused connection, a server that never answers, TLS.
// Exchange's delegate login is checked on the wire against a scripted server.
import { createServer, type Server, type Socket } from 'node:net';
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

beforeAll(async () => {
  dovecot = await startDovecot({ users: ['alice', 'bob', 'erin'], germanSent: ['bob'] });
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

  it('finds the Sent folder by the configured names, case-insensitively, and only by them', async () => {
    const mailboxes = new ImapflowMailboxes({
      url: `imaps://127.0.0.1:${plain.imapsPort}`,
      user: plain.serviceUser,
      password: async () => plain.servicePassword,
      login: 'plain-authzid',
      ca: plain.caPem,
    });
    const mailbox = await mailboxes.open(plain.address('alice'), { readOnly: true });
    try {
      expect(await mailbox.findSentFolder([])).toBeNull();
      expect(await mailbox.findSentFolder(['Gesendete Elemente', 'SENT'])).toBe('Sent');
    } finally {
      await mailbox.close();
    }
  });
});

describe('failures before any IMAP answer', () => {
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

  it('answers a refused connection with fault "unreachable"', async () => {
    const port = await freePort();
    const error = await rejection(adapter({ url: `imaps://127.0.0.1:${port}` }).open(dovecot.address('alice'), { readOnly: true }));
    expect(error.fault).toBe('unreachable');
    expect(error.message).toContain('ECONNREFUSED');
  });

  it('gives up on a server that accepts and never says a word, within the timeout', async () => {
    const port = await scripted(() => undefined);
    const started = Date.now();
    const error = await rejection(
      adapter({ url: `imap://127.0.0.1:${port}`, allowCleartext: true, timeoutMs: 500 }).open(dovecot.address('alice'), { readOnly: true }),
    );
    expect(error.fault).toBe('timeout');
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('gives up on a server that greets and then never answers the login, within the timeout', async () => {
    const port = await scripted((socket) => socket.write('* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready\r\n'));
    const started = Date.now();
    const error = await rejection(
      adapter({ url: `imap://127.0.0.1:${port}`, allowCleartext: true, timeoutMs: 500 }).open(dovecot.address('alice'), { readOnly: true }),
    );
    expect(error.fault).toBe('timeout');
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('gives up on a server that keeps talking but never completes the login, within the timeout', async () => {
    const port = await scripted((socket) => {
      socket.write('* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready\r\n');
      // untagged chatter every 100 ms keeps the socket busy, so only a bound on the command itself ends this
      const chatter = setInterval(() => socket.writable && socket.write('* OK still thinking\r\n'), 100);
      socket.on('close', () => clearInterval(chatter));
    });
    const started = Date.now();
    const error = await rejection(
      adapter({ url: `imap://127.0.0.1:${port}`, allowCleartext: true, timeoutMs: 700 }).open(dovecot.address('alice'), { readOnly: true }),
    );
    expect(error.fault).toBe('timeout');
    expect(error.message).toContain('no answer to connect and login within 700 ms');
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("logs in with Exchange's delegate form: LOGIN service\\mailbox as one quoted user name", async () => {
    const lines: string[] = [];
    const port = await scripted((socket) => {
      socket.write('* OK [CAPABILITY IMAP4rev1 LOGIN-REFERRALS] The Microsoft Exchange IMAP4 service is ready.\r\n');
      let buffer = '';
      socket.on('data', (chunk) => {
        buffer += chunk.toString('latin1');
        for (let end = buffer.indexOf('\r\n'); end >= 0; end = buffer.indexOf('\r\n')) {
          const line = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          lines.push(line);
          const [tag, command] = line.split(' ');
          if (command?.toUpperCase() === 'CAPABILITY')
            socket.write(`* CAPABILITY IMAP4rev1 LOGIN-REFERRALS\r\n${tag} OK CAPABILITY completed.\r\n`);
          else if (command?.toUpperCase() === 'LOGIN') socket.write(`${tag} NO LOGIN failed.\r\n`);
          else socket.write(`${tag} BAD Command Error. 12\r\n`);
        }
      });
    });
    const error = await rejection(
      adapter({ url: `imap://127.0.0.1:${port}`, allowCleartext: true, login: 'exchange', user: 'svc-reconcile@corp.test' }).open(
        'alice@corp.test',
        {
          readOnly: true,
        },
      ),
    );
    expect(lines.find((l) => / LOGIN /i.test(l))).toMatch(/^\S+ LOGIN "svc-reconcile@corp\.test\\\\alice@corp\.test" "reconcile-secret"$/);
    // a plain NO is ambiguous before any login worked: the account (or its FullAccess) is refused, and not tried again
    expect(error.fault).toBe('auth');
    expect(error.message).toContain('NO LOGIN failed.');
    expect(error.message).not.toContain('reconcile-secret');
  });
});

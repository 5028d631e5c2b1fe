// Local mode's DNS answers for mailauth: one query per name and type at a time, reused for a
// minute, "no such name" kept, a timeout not.
import { describe, expect, it } from 'vitest';
import { cachedDnsResolve } from '../../../../../lambdas/adapters/local/dns-answer-cache.ts';

function dnsError(code: string): Error {
  return Object.assign(new Error(`query ${code}`), { code });
}

describe('cachedDnsResolve', () => {
  it('asks once for concurrent identical queries and reuses the answer until it is a minute old', async () => {
    // Prepare
    let clock = 0;
    const asked: string[] = [];
    const resolve = cachedDnsResolve(
      async (name, rrtype) => {
        asked.push(`${rrtype} ${name}`);
        return [['v=spf1 -all']];
      },
      { now: () => clock },
    );

    // Act
    const together = await Promise.all([
      resolve('sender.example', 'TXT'),
      resolve('SENDER.example', 'TXT'),
      resolve('sender.example', 'MX'),
    ]);
    clock = 59_999;
    await resolve('sender.example', 'TXT');
    const beforeExpiry = asked.length;
    clock = 60_000;
    await resolve('sender.example', 'TXT');

    // Assess
    expect(together[0]).toEqual([['v=spf1 -all']]);
    expect(together[1]).toBe(together[0]);
    expect(beforeExpiry).toBe(2);
    expect(asked).toEqual(['TXT sender.example', 'MX sender.example', 'TXT sender.example']);
  });

  it('keeps "no such name" as an answer but asks again after a timeout', async () => {
    // Prepare
    const asked: string[] = [];
    const answers = [dnsError('ENOTFOUND'), dnsError('ETIMEOUT'), null];
    const resolve = cachedDnsResolve(async (name) => {
      asked.push(name);
      const next = answers.shift();
      if (next) throw next;
      return [['ok']];
    });

    // Act
    const missing = await resolve('gone.example', 'TXT').catch((error: NodeJS.ErrnoException) => error.code);
    const missingAgain = await resolve('gone.example', 'TXT').catch((error: NodeJS.ErrnoException) => error.code);
    const timedOut = await resolve('slow.example', 'TXT').catch((error: NodeJS.ErrnoException) => error.code);
    await new Promise((r) => setTimeout(r, 0));
    const retried = await resolve('slow.example', 'TXT');

    // Assess
    expect([missing, missingAgain, timedOut]).toEqual(['ENOTFOUND', 'ENOTFOUND', 'ETIMEOUT']);
    expect(retried).toEqual([['ok']]);
    expect(asked).toEqual(['gone.example', 'slow.example', 'slow.example']);
  });

  it('holds at most maxEntries names, dropping the oldest', async () => {
    // Prepare
    const asked: string[] = [];
    const resolve = cachedDnsResolve(
      async (name) => {
        asked.push(name);
        return [];
      },
      { maxEntries: 2 },
    );

    // Act
    for (const name of ['a.example', 'b.example', 'c.example', 'c.example', 'a.example']) await resolve(name, 'TXT');

    // Assess
    expect(asked).toEqual(['a.example', 'b.example', 'c.example', 'a.example']);
  });
});

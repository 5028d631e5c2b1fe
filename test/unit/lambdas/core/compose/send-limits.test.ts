// The reservation against a user's hour and day: both or neither are counted, a refusal
// names its window and when it ends, and a failing counter leaves nothing counted.
import { describe, expect, it } from 'vitest';
import type { SendLimits } from '../../../../../lambdas/contract/send-limits.ts';
import { reserveSend, SendLimitError } from '../../../../../lambdas/core/compose/send-limits.ts';
import type { SendCounter, SendWindowCount } from '../../../../../lambdas/ports/send-counter.ts';
import { MemorySendCounter } from '../../../../support/memory-send-counter.ts';

const NOW = new Date('2030-03-01T12:34:56.000Z');
const LIMITS: SendLimits = { messagesPerHour: 5, recipientsPerHour: 100, messagesPerDay: 6, recipientsPerDay: 150 };
const MAILBOX = 'alice@corp.test';

describe('reserveSend', () => {
  it('counts the message in the UTC hour and day, each expiring a day after its window', async () => {
    // Prepare
    const counter = new MemorySendCounter();

    // Act
    await reserveSend(counter, MAILBOX, 3, NOW, LIMITS);

    // Assess
    expect(Object.fromEntries(counter.counts)).toEqual({
      'alice@corp.test|H#2030-03-01T12': { messages: 1, recipients: 3, expiresAt: Date.parse('2030-03-02T13:00:00Z') / 1000 },
      'alice@corp.test|D#2030-03-01': { messages: 1, recipients: 3, expiresAt: Date.parse('2030-03-03T00:00:00Z') / 1000 },
    });
  });

  it('gives the hour back when the day refuses, and says the day is full until midnight UTC', async () => {
    // Prepare
    const counter = new MemorySendCounter();
    await reserveSend(counter, MAILBOX, 100, new Date('2030-03-01T08:00:00Z'), LIMITS);

    // Act
    const refused = await reserveSend(counter, MAILBOX, 60, NOW, LIMITS).catch((error: unknown) => error);

    // Assess
    expect(refused).toBeInstanceOf(SendLimitError);
    expect(refused).toMatchObject({ window: 'day', until: new Date('2030-03-02T00:00:00Z'), recipients: 60 });
    expect(counter.counts.get('alice@corp.test|H#2030-03-01T12')).toMatchObject({ messages: 0, recipients: 0 });
  });

  it('refuses more recipients than an hour allows without counting anything', async () => {
    // Prepare
    const counter = new MemorySendCounter();

    // Act
    const refused = await reserveSend(counter, MAILBOX, 101, NOW, LIMITS).catch((error: unknown) => error);

    // Assess
    expect(refused).toMatchObject({ window: 'hour', limits: { messages: 5, recipients: 100 }, until: new Date('2030-03-01T13:00:00Z') });
    expect(counter.counts.size).toBe(0);
  });

  it('gives back what it counted when the counter fails, and a release gives back both', async () => {
    // Prepare
    const memory = new MemorySendCounter();
    let calls = 0;
    const flaky: SendCounter = {
      add: async (count: SendWindowCount, recipients: number) => {
        calls += 1;
        if (calls === 2) throw new Error('table unavailable');
        return memory.add(count, recipients);
      },
      subtract: (...args) => memory.subtract(...args),
    };

    // Act
    const failed = await reserveSend(flaky, MAILBOX, 10, NOW, LIMITS).catch((error: unknown) => error);
    const held = await reserveSend(flaky, MAILBOX, 10, NOW, LIMITS);
    await held.release();

    // Assess
    expect(failed).toMatchObject({ message: 'table unavailable' });
    for (const count of memory.counts.values()) expect(count).toMatchObject({ messages: 0, recipients: 0 });
  });
});

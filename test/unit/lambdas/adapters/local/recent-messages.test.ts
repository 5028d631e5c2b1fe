// The bounded memory of the last messages put: what is in, and what goes first.
import { describe, expect, it } from 'vitest';
import { RecentMessages } from '../../../../../lambdas/adapters/local/recent-messages.ts';

const bytes = (length: number, fill: number) => Buffer.alloc(length, fill);

describe('RecentMessages', () => {
  it('gives back what was remembered, the same bytes', () => {
    const recent = new RecentMessages(100);
    const message = bytes(40, 1);
    recent.remember('a', message);
    expect(recent.get('a')).toBe(message);
    expect(recent.get('b')).toBeUndefined();
    expect(recent.size).toBe(40);
  });

  it('lets the oldest go when the budget is passed, and never holds more than it', () => {
    const recent = new RecentMessages(100);
    recent.remember('a', bytes(40, 1));
    recent.remember('b', bytes(40, 2));
    recent.remember('c', bytes(40, 3));
    expect(recent.get('a')).toBeUndefined();
    expect(recent.get('b')?.[0]).toBe(2);
    expect(recent.get('c')?.[0]).toBe(3);
    expect(recent.size).toBe(80);
  });

  it('does not keep a message larger than the budget, nor push others out for it', () => {
    const recent = new RecentMessages(100);
    recent.remember('a', bytes(60, 1));
    recent.remember('big', bytes(101, 9));
    expect(recent.get('big')).toBeUndefined();
    expect(recent.get('a')?.length).toBe(60);
  });

  it('counts a key remembered again once, and forgets on request', () => {
    const recent = new RecentMessages(100);
    recent.remember('a', bytes(60, 1));
    recent.remember('a', bytes(70, 2));
    expect(recent.size).toBe(70);
    expect(recent.get('a')?.[0]).toBe(2);
    recent.forget('a');
    recent.forget('never');
    expect(recent.get('a')).toBeUndefined();
    expect(recent.size).toBe(0);
  });
});

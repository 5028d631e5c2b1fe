// The MessageIndex contract, delivery log: created once, every attempt kept (the last MAX_STORED_ATTEMPTS), none lost to concurrent writers.
import { beforeEach, describe, expect, it } from 'vitest';
import type { DeliveryLog } from '../../../lambdas/ports/delivery-log.ts';
import { MAX_STORED_ATTEMPTS } from '../../../lambdas/ports/delivery-log.ts';
import { attempt, EXPIRED, type IndexUnderTest, makeState, NOW } from './fixtures.ts';

export function describeDeliveryLogContract(current: () => IndexUnderTest): void {
  let index: DeliveryLog;
  beforeEach(() => {
    index = current().index;
  });

  describe('delivery states', () => {
    it('creates a state once: a re-ingest never resets progress', async () => {
      // Prepare
      await index.createDeliveryState(makeState('m1', 'alice@corp.test'));
      await index.recordDeliveryAttempt('m1', 'alice@corp.test', attempt(1), 'deferred', null);
      // Act
      await index.createDeliveryState(makeState('m1', 'Alice@Corp.Test'));
      // Assess
      const [state] = await index.getDeliveryStates('m1', NOW);
      expect(state).toMatchObject({ state: 'deferred', attemptCount: 1, recipient: 'alice@corp.test' });
    });

    // Ingest skips reading the states back when it created all of them (core/ingest.ts).
    it('says whether the call created the state: exactly one of concurrent creators did', async () => {
      // Prepare
      expect(await index.createDeliveryState(makeState('m1', 'alice@corp.test'))).toBe(true);
      // Act
      const again = await index.createDeliveryState(makeState('m1', 'ALICE@corp.test'));
      const racing = await Promise.all(
        [1, 2, 3].map((n) => index.createDeliveryState(makeState('m1', 'bob@corp.test', { part: `rule-${n}` }))),
      );
      // Assess
      expect(again).toBe(false);
      expect(racing.filter(Boolean)).toHaveLength(1);
      const bob = (await index.getDeliveryStates('m1', NOW)).find((state) => state.recipient === 'bob@corp.test');
      expect(bob?.part).toBe(`rule-${racing.indexOf(true) + 1}`);
    });

    // Two receipt rules matched bob: the notification that created his state relays him (core/forward-part.ts).
    it('keeps the part of the state created first, and no part where none was given', async () => {
      // Prepare
      await index.createDeliveryState(makeState('m1', 'bob@corp.test', { part: 'rule-2' }));
      await index.createDeliveryState(makeState('m1', 'alice@corp.test'));
      // Act
      await Promise.all([
        index.createDeliveryState(makeState('m1', 'BOB@corp.test', { part: 'rule-1' })),
        index.createDeliveryState(makeState('m1', 'alice@corp.test', { part: 'rule-1' })),
      ]);
      // Assess
      const states = await index.getDeliveryStates('m1', NOW);
      const sorted = [...states].sort((a, b) => a.recipient.localeCompare(b.recipient));
      expect(sorted).toStrictEqual([makeState('m1', 'alice@corp.test'), makeState('m1', 'bob@corp.test', { part: 'rule-2' })]);
    });

    it('lists the live states of one message', async () => {
      // Prepare
      await index.createDeliveryState(makeState('m1', 'alice@corp.test'));
      await index.createDeliveryState(makeState('m1', 'bob@corp.test', { state: 'delivered' }));
      await index.createDeliveryState(makeState('m1', 'old@corp.test', { expiresAt: EXPIRED }));
      await index.createDeliveryState(makeState('m2', 'carol@corp.test'));
      // Act
      const states = await index.getDeliveryStates('m1', NOW);
      // Assess
      const sorted = [...states].sort((a, b) => a.recipient.localeCompare(b.recipient));
      expect(sorted).toEqual([makeState('m1', 'alice@corp.test'), makeState('m1', 'bob@corp.test', { state: 'delivered' })]);
      expect(await index.getDeliveryStates('m-none', NOW)).toEqual([]);
    });

    it('records an attempt: appended, counted, state, last reply, time and reason set', async () => {
      // Prepare
      await index.createDeliveryState(makeState('m1', 'Bob@Corp.Test'));
      await index.recordDeliveryAttempt('m1', 'bob@corp.test', attempt(1), 'deferred', null);
      // Act
      await index.recordDeliveryAttempt('m1', 'BOB@corp.test', attempt(2, 'failed'), 'failed', 'permanent failure: 550');
      // Assess
      const [state] = await index.getDeliveryStates('m1', NOW);
      expect(state).toEqual(
        makeState('m1', 'Bob@Corp.Test', {
          state: 'failed',
          attempts: [attempt(1), attempt(2, 'failed')],
          attemptCount: 2,
          lastReply: attempt(2, 'failed').response,
          updatedAt: attempt(2, 'failed').at,
          reason: 'permanent failure: 550',
        }),
      );
    });

    it('keeps the configuration fault an attempt failed on, and none where there was none', async () => {
      // Prepare
      await index.createDeliveryState(makeState('m1', 'alice@corp.test'));
      const refused = { ...attempt(1), code: 535, configurationFault: 'auth' as const };
      // Act
      await index.recordDeliveryAttempt('m1', 'alice@corp.test', refused, 'deferred', null);
      await index.recordDeliveryAttempt('m1', 'alice@corp.test', attempt(2), 'deferred', null);
      // Assess
      const [state] = await index.getDeliveryStates('m1', NOW);
      expect(state!.attempts).toEqual([refused, attempt(2)]);
      expect(state!.attempts[1]).not.toHaveProperty('configurationFault');
    });

    it(`keeps the last ${MAX_STORED_ATTEMPTS} attempts and counts them all`, async () => {
      // Prepare
      await index.createDeliveryState(makeState('m1', 'alice@corp.test'));
      // Act
      for (let n = 1; n <= MAX_STORED_ATTEMPTS + 5; n += 1) {
        await index.recordDeliveryAttempt('m1', 'alice@corp.test', attempt(n), 'deferred', null);
      }
      // Assess
      const [state] = await index.getDeliveryStates('m1', NOW);
      expect(state?.attemptCount).toBe(MAX_STORED_ATTEMPTS + 5);
      expect(state?.attempts).toHaveLength(MAX_STORED_ATTEMPTS);
      expect(state?.attempts[0]).toEqual(attempt(6));
      expect(state?.attempts.at(-1)).toEqual(attempt(MAX_STORED_ATTEMPTS + 5));
    });

    // The forward passes the state it read before relaying, so the write needs no read of its own (issue 18).
    it('loses nothing when the state the caller read is stale: a resend recorded meanwhile is kept', async () => {
      // Prepare
      await index.createDeliveryState(makeState('m1', 'alice@corp.test'));
      const [read] = await index.getDeliveryStates('m1', NOW);
      await index.recordExtraAttempt('m1', 'alice@corp.test', attempt(1));
      // Act
      await index.recordDeliveryAttempt('m1', 'alice@corp.test', attempt(2), 'deferred', null, read);
      await index.recordDeliveryAttempt('m1', 'alice@corp.test', attempt(3), 'failed', 'permanent failure: 550', read);
      // Assess
      const [state] = await index.getDeliveryStates('m1', NOW);
      expect(state).toMatchObject({ attemptCount: 3, attempts: [attempt(1), attempt(2), attempt(3)], state: 'failed' });
      expect(state?.reason).toBe('permanent failure: 550');
    });

    it('records from the state the caller read, capped like any other', async () => {
      // Prepare
      await index.createDeliveryState(makeState('m1', 'alice@corp.test'));
      for (let n = 1; n <= MAX_STORED_ATTEMPTS; n += 1)
        await index.recordDeliveryAttempt('m1', 'alice@corp.test', attempt(n), 'deferred', null);
      const [read] = await index.getDeliveryStates('m1', NOW);
      // Act
      await index.recordDeliveryAttempt('m1', 'ALICE@corp.test', attempt(99, 'delivered'), 'delivered', null, read);
      // Assess
      const [state] = await index.getDeliveryStates('m1', NOW);
      expect(state?.attemptCount).toBe(MAX_STORED_ATTEMPTS + 1);
      expect(state?.attempts).toHaveLength(MAX_STORED_ATTEMPTS);
      expect(state?.attempts.at(-1)).toEqual(attempt(99, 'delivered'));
      expect(state?.state).toBe('delivered');
    });

    it('loses no attempt when several workers record at once', async () => {
      // Prepare
      await index.createDeliveryState(makeState('m1', 'alice@corp.test'));
      // Act
      await Promise.all(
        Array.from({ length: 8 }, (_, n) => index.recordDeliveryAttempt('m1', 'alice@corp.test', attempt(n), 'deferred', null)),
      );
      // Assess
      const [state] = await index.getDeliveryStates('m1', NOW);
      expect(state?.attemptCount).toBe(8);
      expect(new Set(state?.attempts.map((a) => a.response))).toEqual(new Set(Array.from({ length: 8 }, (_, n) => attempt(n).response)));
    });

    it('refuses an attempt for a recipient without a state', async () => {
      // Act
      const recording = index.recordDeliveryAttempt('m-none', 'alice@corp.test', attempt(1), 'deferred', null);
      // Assess
      await expect(recording).rejects.toThrow();
    });
  });

  describe('attempts made outside the forward (recordExtraAttempt)', () => {
    it("adds the attempt to the history; delivered wins, anything else keeps the forward's state", async () => {
      // Prepare
      await index.createDeliveryState(
        makeState('x1', 'a@corp.test', {
          state: 'failed',
          reason: 'permanent failure: 550',
          attemptCount: 1,
          attempts: [attempt(1, 'failed')],
        }),
      );
      await index.createDeliveryState(makeState('x1', 'b@corp.test', { state: 'deferred', attemptCount: 1, attempts: [attempt(1)] }));
      // Act
      await index.recordExtraAttempt('x1', 'A@corp.test', { ...attempt(2, 'delivered'), response: 'resend r1: 250 ok' });
      await index.recordExtraAttempt('x1', 'b@corp.test', { ...attempt(3, 'failed'), response: 'resend r1: 550 no' });
      await index.recordExtraAttempt('x1', 'nobody@corp.test', attempt(4, 'delivered'));
      // Assess
      const states = (await index.getDeliveryStates('x1', NOW)).sort((x, y) => x.recipient.localeCompare(y.recipient));
      expect(states.map((state) => [state.recipient, state.state, state.reason, state.attemptCount, state.lastReply])).toEqual([
        ['a@corp.test', 'delivered', null, 2, 'resend r1: 250 ok'],
        ['b@corp.test', 'deferred', null, 2, 'resend r1: 550 no'],
      ]);
      expect(states[0]?.attempts.at(-1)).toEqual({ ...attempt(2, 'delivered'), response: 'resend r1: 250 ok' });
    });

    it("keeps a note (kind 'report') in the history without making it the last reply: that stays the primary's", async () => {
      // Prepare
      await index.createDeliveryState(
        makeState('x2', 'a@corp.test', {
          state: 'failed',
          reason: 'permanent failure: 550 5.1.1 unknown',
          attemptCount: 1,
          attempts: [{ ...attempt(1, 'failed'), code: 550, response: '550 5.1.1 unknown' }],
          lastReply: '550 5.1.1 unknown',
        }),
      );
      const note = { ...attempt(2, 'failed'), code: 0, response: 'non-delivery report sent to s@partner.test', kind: 'report' as const };
      // Act
      await index.recordExtraAttempt('x2', 'a@corp.test', note);
      // Assess
      const [state] = await index.getDeliveryStates('x2', NOW);
      expect(state).toMatchObject({ state: 'failed', lastReply: '550 5.1.1 unknown' });
      expect(state?.attempts.at(-1)).toEqual(note);
    });
  });
}

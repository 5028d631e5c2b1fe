// The behavioural contract of PendingRecipients, run against the in-memory reference,
// DynamoDB (dynalite and DynamoDB Local) and SQLite: the latest count of a message wins,
// 0 counts nothing, expired messages count nothing, and every message is summed.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PendingRecipients } from '../../lambdas/ports/pending-recipients.ts';

const NOW = new Date('2030-03-01T12:00:00.000Z');
const LATER = NOW.getTime() / 1000 + 86_400;

export function describePendingRecipientsContract(
  name: string,
  make: () => Promise<{ pending: PendingRecipients; cleanup?(): Promise<void> }>,
): void {
  describe(`PendingRecipients contract: ${name}`, () => {
    let pending: PendingRecipients;
    let cleanup: (() => Promise<void>) | undefined;
    beforeEach(async () => {
      const made = await make();
      pending = made.pending;
      cleanup = made.cleanup?.bind(made);
    });
    afterEach(async () => cleanup?.());

    it('counts nothing when nothing waits', async () => {
      expect(await pending.countPendingRecipients(NOW)).toBe(0);
    });

    it('sums the latest count of every message, over all shards', async () => {
      // 40 messages: with 16 shards, several share one and most shards hold some.
      for (let i = 0; i < 40; i++) await pending.setPendingRecipients(`ses-${i}`, 3, LATER);
      // The forward delivered two of three recipients of ses-0, and all of ses-1; a repeated write changes nothing.
      await pending.setPendingRecipients('ses-0', 1, LATER);
      await pending.setPendingRecipients('ses-1', 0, LATER);
      await pending.setPendingRecipients('ses-1', 0, LATER);
      expect(await pending.countPendingRecipients(NOW)).toBe(38 * 3 + 1);
    });

    it('counts nothing of an expired message', async () => {
      await pending.setPendingRecipients('old', 5, NOW.getTime() / 1000 - 1);
      await pending.setPendingRecipients('new', 2, LATER);
      expect(await pending.countPendingRecipients(NOW)).toBe(2);
    });
  });
}

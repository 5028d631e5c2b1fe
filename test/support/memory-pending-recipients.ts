// In-memory PendingRecipients: the reference the DynamoDB adapter's contract test is held to.
import type { PendingRecipients } from '../../lambdas/ports/pending-recipients.ts';

export class MemoryPendingRecipients implements PendingRecipients {
  readonly counts = new Map<string, { recipients: number; expiresAt: number }>();

  async setPendingRecipients(sesMessageId: string, count: number, expiresAt: number): Promise<void> {
    this.counts.set(sesMessageId, { recipients: count, expiresAt });
  }

  async countPendingRecipients(now: Date): Promise<number> {
    const nowSeconds = Math.floor(now.getTime() / 1000);
    let sum = 0;
    for (const { recipients, expiresAt } of this.counts.values()) if (expiresAt > nowSeconds) sum += recipients;
    return sum;
  }
}

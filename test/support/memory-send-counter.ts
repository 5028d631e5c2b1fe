// In-memory SendCounter: the reference the DynamoDB adapter's contract test is held to.
import type { SendCounter, SendWindowCount } from '../../lambdas/ports/send-counter.ts';

export class MemorySendCounter implements SendCounter {
  readonly counts = new Map<string, { messages: number; recipients: number; expiresAt: number }>();

  async add(count: SendWindowCount, recipients: number): Promise<boolean> {
    const key = `${count.mailbox}|${count.window}`;
    const held = this.counts.get(key) ?? { messages: 0, recipients: 0, expiresAt: 0 };
    if (held.messages + 1 > count.maxMessages || held.recipients + recipients > count.maxRecipients) return false;
    this.counts.set(key, {
      messages: held.messages + 1,
      recipients: held.recipients + recipients,
      expiresAt: Math.floor(count.expiresAt.getTime() / 1000),
    });
    return true;
  }

  async subtract(mailbox: string, window: string, recipients: number): Promise<void> {
    const held = this.counts.get(`${mailbox}|${window}`);
    if (!held) return;
    held.messages -= 1;
    held.recipients -= recipients;
  }
}

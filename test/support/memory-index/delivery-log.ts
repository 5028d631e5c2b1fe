// Delivery states in memory.
import type { DeliveryAttempt, DeliveryState, DeliveryStateName } from '../../../lambdas/core/model.ts';
import { isLive } from '../../../lambdas/core/retention.ts';
import { type DeliveryLog, MAX_STORED_ATTEMPTS } from '../../../lambdas/ports/delivery-log.ts';
import { deliveryKey, type MemoryIndexState } from './state.ts';

export class MemoryDeliveryLog implements DeliveryLog {
  constructor(private readonly state: MemoryIndexState) {}

  async createDeliveryState(state: DeliveryState): Promise<boolean> {
    const key = deliveryKey(state.sesMessageId, state.recipient);
    if (this.state.deliveries.has(key)) return false;
    this.state.deliveries.set(key, structuredClone(state));
    return true;
  }

  async getDeliveryStates(sesMessageId: string, now: Date): Promise<DeliveryState[]> {
    return [...this.state.deliveries.values()]
      .filter((state) => state.sesMessageId === sesMessageId && isLive(state, now))
      .map((state) => structuredClone(state));
  }

  async recordDeliveryAttempt(
    sesMessageId: string,
    recipient: string,
    attempt: DeliveryAttempt,
    state: DeliveryStateName,
    reason: string | null,
  ): Promise<void> {
    const key = deliveryKey(sesMessageId, recipient);
    const existing = this.state.deliveries.get(key);
    if (!existing) throw new Error(`no delivery state for ${key}`);
    append(existing, attempt);
    existing.state = state;
    existing.reason = reason;
  }

  async recordExtraAttempt(sesMessageId: string, recipient: string, attempt: DeliveryAttempt): Promise<void> {
    const existing = this.state.deliveries.get(deliveryKey(sesMessageId, recipient));
    if (!existing) return;
    append(existing, attempt);
    if (attempt.outcome === 'delivered') {
      existing.state = 'delivered';
      existing.reason = null;
    }
  }
}

function append(state: DeliveryState, attempt: DeliveryAttempt): void {
  state.attempts = [...state.attempts, attempt].slice(-MAX_STORED_ATTEMPTS);
  state.attemptCount += 1;
  if (attempt.kind !== 'report') state.lastReply = attempt.response;
  state.updatedAt = attempt.at;
}

// Port: per message and recipient, how the relay to the primary stands and every
// attempt made (the forward's and a resend's), for retries and the admin's trace.
import type { DeliveryAttempt, DeliveryState, DeliveryStateName } from '../core/model.ts';

/** Every implementation keeps this many attempts per recipient, the newest (the count of all is kept apart). */
export const MAX_STORED_ATTEMPTS = 50;

export interface DeliveryLog {
  /**
   * Creates the delivery state unless it exists (a re-ingest never resets progress).
   * True when this call created it: of concurrent creators exactly one gets true.
   */
  createDeliveryState(state: DeliveryState): Promise<boolean>;
  getDeliveryStates(sesMessageId: string, now: Date): Promise<DeliveryState[]>;
  /**
   * The forward's attempt: appended, and state and reason set as given. No state for the
   * recipient: InvalidInputError. `read` is the state as the caller last read it: a store
   * may write from it without reading first, and a stale one still loses nothing.
   */
  recordDeliveryAttempt(
    sesMessageId: string,
    recipient: string,
    attempt: DeliveryAttempt,
    state: DeliveryStateName,
    reason: string | null,
    read?: DeliveryState,
  ): Promise<void>;
  /**
   * Adds an attempt made outside the forward (a resend) to a recipient's history. A
   * delivered attempt makes the state delivered (the forward stops retrying it);
   * any other outcome leaves state and reason as the forward left them. No delivery
   * state for the recipient: nothing is recorded.
   */
  recordExtraAttempt(sesMessageId: string, recipient: string, attempt: DeliveryAttempt): Promise<void>;
}

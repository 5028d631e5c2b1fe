// Delivery states in the embedded store: one `delivery` row per message and recipient
// (comparison form), the state as JSON. An attempt is a read-modify-write inside one
// IMMEDIATE transaction: it holds the write lock from the read on, so no concurrent
// writer, in this process or another, can lose an attempt.
import { normalizeAddress } from '../../../core/addresses.ts';
import { InvalidInputError } from '../../../core/errors.ts';
import type { DeliveryAttempt, DeliveryState, DeliveryStateName } from '../../../core/model.ts';
import { searchPosition } from '../../../core/trace.ts';
import { type DeliveryLog, MAX_STORED_ATTEMPTS } from '../../../ports/delivery-log.ts';
import { ensureSchema, type LocalDatabase } from './database.ts';
import { type ExpiringRows, epochSeconds } from './expiry.ts';

/** `position` is the state's searchPosition: the received-mail listing and admin search read it. */
export const DELIVERY_SCHEMA = [
  `CREATE TABLE IF NOT EXISTS delivery (
     ses_message_id TEXT NOT NULL,
     recipient TEXT NOT NULL,
     position TEXT NOT NULL,
     expires_at INTEGER NOT NULL,
     state TEXT NOT NULL,
     PRIMARY KEY (ses_message_id, recipient))`,
  'CREATE INDEX IF NOT EXISTS delivery_by_position ON delivery (position)',
  'CREATE INDEX IF NOT EXISTS delivery_by_expiry ON delivery (expires_at)',
] as const;

type NextState = (current: DeliveryState) => { state: DeliveryStateName; reason: string | null };

export class SqliteDeliveryLog implements DeliveryLog, ExpiringRows {
  private readonly insert;
  private readonly list;
  private readonly append: (sesMessageId: string, recipient: string, attempt: DeliveryAttempt, next: NextState, required: boolean) => void;
  private readonly purge;

  constructor(db: LocalDatabase) {
    ensureSchema(db, DELIVERY_SCHEMA);
    this.insert = db.prepare<[string, string, string, number, string]>(
      'INSERT OR IGNORE INTO delivery (ses_message_id, recipient, position, expires_at, state) VALUES (?, ?, ?, ?, ?)',
    );
    this.list = db.prepare<[string, number], { state: string }>(
      'SELECT state FROM delivery WHERE ses_message_id = ? AND expires_at > ? ORDER BY recipient',
    );
    const select = db.prepare<[string, string], { state: string }>('SELECT state FROM delivery WHERE ses_message_id = ? AND recipient = ?');
    const update = db.prepare<[string, string, string]>('UPDATE delivery SET state = ? WHERE ses_message_id = ? AND recipient = ?');
    this.append = db.transaction(
      (sesMessageId: string, recipient: string, attempt: DeliveryAttempt, next: NextState, required: boolean) => {
        const key = normalizeAddress(recipient);
        const row = select.get(sesMessageId, key);
        if (!row) {
          if (required) throw new InvalidInputError(`no delivery state for ${sesMessageId} / ${recipient}`);
          return;
        }
        const current = JSON.parse(row.state) as DeliveryState;
        const changed: DeliveryState = {
          ...current,
          ...next(current),
          attempts: [...current.attempts, attempt].slice(-MAX_STORED_ATTEMPTS),
          attemptCount: current.attemptCount + 1,
          // A note about the sender's report is no reply of the primary's (model.ts DeliveryAttempt.kind).
          lastReply: attempt.kind === 'report' ? current.lastReply : attempt.response,
          updatedAt: attempt.at,
        };
        update.run(JSON.stringify(changed), sesMessageId, key);
      },
    ).immediate;
    this.purge = db.prepare<[number]>('DELETE FROM delivery WHERE expires_at <= ?');
  }

  async createDeliveryState(state: DeliveryState): Promise<boolean> {
    return (
      this.insert.run(state.sesMessageId, normalizeAddress(state.recipient), searchPosition(state), state.expiresAt, JSON.stringify(state))
        .changes === 1
    );
  }

  async getDeliveryStates(sesMessageId: string, now: Date): Promise<DeliveryState[]> {
    return this.list.all(sesMessageId, epochSeconds(now)).map((row) => JSON.parse(row.state) as DeliveryState);
  }

  async recordDeliveryAttempt(
    sesMessageId: string,
    recipient: string,
    attempt: DeliveryAttempt,
    state: DeliveryStateName,
    reason: string | null,
  ): Promise<void> {
    this.append(sesMessageId, recipient, attempt, () => ({ state, reason }), true);
  }

  async recordExtraAttempt(sesMessageId: string, recipient: string, attempt: DeliveryAttempt): Promise<void> {
    const delivered = attempt.outcome === 'delivered';
    this.append(
      sesMessageId,
      recipient,
      attempt,
      (current) => ({ state: delivered ? 'delivered' : current.state, reason: delivered ? null : current.reason }),
      false,
    );
  }

  purgeExpired(now: Date): number {
    return this.purge.run(epochSeconds(now)).changes;
  }
}

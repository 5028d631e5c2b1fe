// What the console says about Exchange from the delivery attempts it looks at: answering
// or not by the newest attempt, since the oldest attempt of that same run, the last
// accepted and the last refused attempt.
import { describe, expect, it } from 'vitest';
import { exchangeFromAttempts } from '../../../../lambdas/core/console.ts';
import type { DeliveryAttempt } from '../../../../lambdas/core/model.ts';

const accepted = (at: string): DeliveryAttempt => ({ at, code: 250, response: '2.6.0 Queued', outcome: 'delivered' });
const refused = (at: string): DeliveryAttempt => ({ at, code: 421, response: '4.3.2 Service not available', outcome: 'deferred' });

describe('exchangeFromAttempts', () => {
  it('knows nothing without attempts', () => {
    // Prepare + Act
    const state = exchangeFromAttempts([]);
    // Assess
    expect(state).toEqual({ answering: null, since: null, lastAccepted: null, lastRefused: null });
  });

  it('is down since the first refusal after the last accepted delivery, in any order of input', () => {
    // Prepare
    const attempts = [
      refused('2030-03-03T12:40:00Z'),
      accepted('2030-03-03T10:00:00Z'),
      refused('2030-03-03T12:30:00Z'),
      accepted('2030-03-03T11:00:00Z'),
    ];
    // Act
    const state = exchangeFromAttempts(attempts);
    // Assess
    expect(state).toEqual({
      answering: false,
      since: '2030-03-03T12:30:00Z',
      lastAccepted: accepted('2030-03-03T11:00:00Z'),
      lastRefused: refused('2030-03-03T12:40:00Z'),
    });
  });

  it('is answering again since the first accepted delivery after the last refusal', () => {
    // Prepare
    const attempts = [refused('2030-03-03T09:00:00Z'), accepted('2030-03-03T09:30:00Z'), accepted('2030-03-03T09:45:00Z')];
    // Act
    const state = exchangeFromAttempts(attempts);
    // Assess
    expect(state).toMatchObject({ answering: true, since: '2030-03-03T09:30:00Z', lastRefused: refused('2030-03-03T09:00:00Z') });
  });
});

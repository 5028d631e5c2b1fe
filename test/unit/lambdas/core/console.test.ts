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

  it('counts a permanent refusal of one recipient as Exchange answering; a refusal of our login is not', () => {
    // Prepare: Exchange said 550 for a mistyped address — it is up and judging mail.
    const unknownUser: DeliveryAttempt = { at: '2030-03-03T12:40:00Z', code: 550, response: '5.1.1 User unknown', outcome: 'failed' };
    const loginRefused: DeliveryAttempt = {
      at: '2030-03-03T12:50:00Z',
      code: 535,
      response: '5.7.3 Authentication unsuccessful',
      outcome: 'deferred',
      configurationFault: 'auth',
    };
    // Act + Assess
    expect(exchangeFromAttempts([accepted('2030-03-03T12:00:00Z'), unknownUser])).toMatchObject({
      answering: true,
      since: '2030-03-03T12:00:00Z',
      lastAccepted: accepted('2030-03-03T12:00:00Z'),
      lastRefused: unknownUser,
    });
    expect(exchangeFromAttempts([accepted('2030-03-03T12:00:00Z'), unknownUser, loginRefused])).toMatchObject({
      answering: false,
      since: '2030-03-03T12:50:00Z',
      lastRefused: loginRefused,
    });
  });

  it("leaves out the lines about senders' non-delivery reports: they are no attempt at Exchange", () => {
    // Prepare
    const note: DeliveryAttempt = {
      at: '2030-03-03T13:00:00Z',
      code: 0,
      response: 'non-delivery report sent to s@partner.test',
      outcome: 'failed',
      kind: 'report',
    };
    // Act
    const state = exchangeFromAttempts([accepted('2030-03-03T12:00:00Z'), note]);
    // Assess
    expect(state).toEqual({
      answering: true,
      since: '2030-03-03T12:00:00Z',
      lastAccepted: accepted('2030-03-03T12:00:00Z'),
      lastRefused: null,
    });
  });
});

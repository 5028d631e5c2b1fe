// What `shadowmail trace` prints for an attempt the smart host refused on shadowmail's
// settings: the fault in words under the attempt (text) and as a field (--json), and
// nothing extra for a plain deferral.
import { describe, expect, it } from 'vitest';
import { formatTrace, traceJson } from '../../../../bin/commands/trace.ts';
import type { DeliveryAttempt } from '../../../../lambdas/core/model.ts';
import type { TracedMessage } from '../../../../lambdas/core/trace.ts';
import { makeRecord, makeState } from '../../../support/index-contract/fixtures.ts';

function traced(attempts: DeliveryAttempt[], state: 'deferred' | 'failed' = 'deferred'): TracedMessage {
  const message = makeRecord('ses-fault-1', { envelopeRecipients: ['bob@corp.test'] });
  return {
    message,
    deliveries: [
      makeState('ses-fault-1', 'bob@corp.test', {
        state,
        attempts,
        attemptCount: attempts.length,
        lastReply: attempts.at(-1)?.response ?? null,
      }),
    ],
  };
}

const at = '2030-03-03T10:00:00.000Z';

describe('shadowmail trace output', () => {
  it('says in words that a refused login is a configuration fault, what to check, and that the message is kept', () => {
    // Prepare
    const refused: DeliveryAttempt = {
      at,
      code: 0,
      response: 'not relayed: authentication at mail.corp.example:10587 failed: Invalid login: 535 5.7.3 Authentication unsuccessful',
      outcome: 'deferred',
      configurationFault: 'auth',
    };

    // Act
    const text = formatTrace([traced([refused])]);
    const json = traceJson(traced([refused]));

    // Assess
    expect(text).toContain(
      "        configuration fault: Exchange refused shadowmail's login or asked for one (not relayed: authentication at mail.corp.example:10587 failed: Invalid login: 535 5.7.3 Authentication unsuccessful) — check the smart-host secret and the receive connector (docs/deploy.md 3.3, 6.2, 6.3); the message is kept and retried\n",
    );
    expect(json.deliveries[0]!.attempts[0]).toEqual({
      at,
      code: 0,
      response: refused.response,
      outcome: 'deferred',
      configurationFault: 'auth',
    });
  });

  it('says so for TLS, and for 530 at MAIL FROM', () => {
    // Prepare
    const tls: DeliveryAttempt = {
      at,
      code: 0,
      response: 'not relayed: STARTTLS with mail.corp.example:25 failed',
      outcome: 'deferred',
      configurationFault: 'tls',
    };
    const wantsLogin: DeliveryAttempt = {
      at,
      code: 530,
      response: '530 5.7.1 Client was not authenticated',
      outcome: 'deferred',
      configurationFault: 'auth',
    };

    // Act
    const text = formatTrace([traced([tls, wantsLogin])]);

    // Assess
    expect(text).toMatch(
      /configuration fault: TLS with Exchange failed as configured \(not relayed: STARTTLS .*\) — check Exchange's certificate .*; the message is kept and retried/,
    );
    expect(text).toMatch(
      /530 {2}deferred +530 5\.7\.1 Client was not authenticated\n +configuration fault: Exchange refused shadowmail's login or asked for one \(530 5\.7\.1 Client was not authenticated\)/,
    );
  });

  it('adds nothing to a plain deferral, and no field in JSON', () => {
    // Prepare
    const away: DeliveryAttempt = { at, code: 0, response: 'not relayed: connect ECONNREFUSED', outcome: 'deferred' };

    // Act
    const text = formatTrace([traced([away])]);
    const json = traceJson(traced([away]));

    // Assess
    expect(text).not.toContain('configuration fault');
    expect(json.deliveries[0]!.attempts[0]).not.toHaveProperty('configurationFault');
  });

  it("shows a line about the sender's non-delivery report as a report, not as an attempt with code 000", () => {
    // Prepare
    const refused: DeliveryAttempt = { at, code: 550, response: '550 5.1.1 User unknown', outcome: 'failed' };
    const note: DeliveryAttempt = {
      at: '2030-03-03T10:00:05.000Z',
      code: 0,
      response: 'non-delivery report sent to sender@partner.test (r-1)',
      outcome: 'failed',
      kind: 'report',
    };
    // Act
    const text = formatTrace([traced([refused, note], 'failed')]);
    const json = traceJson(traced([refused, note], 'failed'));
    // Assess
    expect(text).toContain('      2030-03-03T10:00:05.000Z  ---  report    non-delivery report sent to sender@partner.test (r-1)\n');
    expect(text).toContain('      2030-03-03T10:00:00.000Z  550  failed    550 5.1.1 User unknown\n');
    expect(json.deliveries[0]!.attempts[1]).toMatchObject({ kind: 'report' });
  });
});

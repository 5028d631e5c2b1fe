// The forward function's probe mode at the handler: a request is checked before anything
// connects (addresses without CR, LF, NUL or <>, at most 256 characters, a real mailbox
// for RCPT), and the probe's result is handed back unchanged; the probe's bound fits the
// forward function's timeout.
import { describe, expect, it } from 'vitest';
import { PROBE_LIMITS } from '../../../../lambdas/adapters/smtp/smtp-probe.ts';
import { FORWARD_LIMITS } from '../../../../lambdas/contract/pipeline-limits.ts';
import { InvalidInputError } from '../../../../lambdas/core/errors.ts';
import { createForwardProbeHandler, parseProbeRequest } from '../../../../lambdas/handlers/forward-probe.ts';
import { createObservability } from '../../../../lambdas/handlers/observability.ts';
import { isForwardProbeEvent, type ProbeRequest, type ProbeResult, type SmtpProbe } from '../../../../lambdas/ports/smtp-probe.ts';

process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';

class RecordingProbe implements SmtpProbe {
  readonly requests: ProbeRequest[] = [];
  async probe(request: ProbeRequest): Promise<ProbeResult> {
    this.requests.push(request);
    return {
      host: 'mail.corp.example',
      port: 10587,
      ok: true,
      fault: null,
      steps: [{ step: 'connect', ok: true, ms: 3 }],
      summary: 'fine',
    };
  }
}

describe('forward probe handler', () => {
  it('runs the probe with the request and returns its result', async () => {
    // Prepare
    const probe = new RecordingProbe();
    const handler = createForwardProbeHandler({ probe, logger: createObservability('test').logger });
    const event = { shadowmailProbe: { from: '', recipient: 'postmaster@corp.example' } };

    // Act
    const result = await handler(event);

    // Assess
    expect(isForwardProbeEvent(event)).toBe(true);
    expect(probe.requests).toEqual([{ from: '', recipient: 'postmaster@corp.example' }]);
    expect(result).toMatchObject({ ok: true, summary: 'fine' });
  });

  it.each([
    ['a recipient with CR LF', { from: '', recipient: 'a@corp.example\r\nRCPT TO:<b@x>' }, /recipient/],
    ['a sender with angle brackets', { from: '<a@corp.example>', recipient: 'a@corp.example' }, /from/],
    [
      'a recipient without @',
      { from: '', recipient: 'postmaster' },
      /a mailbox address such as postmaster@corp.example[\s\S]*at recipient/,
    ],
    ['an over-long recipient', { from: '', recipient: `${'a'.repeat(250)}@corp.example` }, /at most 256/],
    ['a missing recipient', { from: '' }, /recipient/],
    ['a number as sender', { from: 5, recipient: 'a@corp.example' }, /from/],
    ['no request at all', null, /invalid probe request/],
  ])('refuses %s before connecting', async (_what, request, message) => {
    // Prepare
    const probe = new RecordingProbe();
    const handler = createForwardProbeHandler({ probe, logger: createObservability('test').logger });

    // Act
    const outcome = handler({ shadowmailProbe: request } as never);

    // Assess
    await expect(outcome).rejects.toBeInstanceOf(InvalidInputError);
    await expect(outcome).rejects.toThrow(message);
    expect(probe.requests).toEqual([]);
  });

  it('fits the whole probe, with room for a cold start, into the forward function that runs it', () => {
    // Act
    const budgetMs = FORWARD_LIMITS.timeoutSeconds * 1000 - PROBE_LIMITS.totalMs;
    const stepsMs = PROBE_LIMITS.connectMs + PROBE_LIMITS.greetingMs;

    // Assess: a synchronous invoke waits for the function; the probe must end before it is cut off
    expect(budgetMs).toBeGreaterThanOrEqual(10_000);
    expect(PROBE_LIMITS.totalMs).toBeLessThanOrEqual(30_000);
    expect(stepsMs).toBeLessThanOrEqual(PROBE_LIMITS.totalMs);
  });

  it('parses a valid request into exactly from and recipient', () => {
    // Act
    const request = parseProbeRequest({ shadowmailProbe: { from: 'doctor@corp.example', recipient: 'alice@corp.example', extra: 1 } });

    // Assess
    expect(request).toEqual({ from: 'doctor@corp.example', recipient: 'alice@corp.example' });
  });
});

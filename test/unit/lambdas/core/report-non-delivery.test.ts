// The report use case: after the forward recorded a permanent failure, one report per
// message and recipient from the null sender, or none and why, in the trace.
import { simpleParser } from 'mailparser';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { MailedNonDeliverySender } from '../../../../lambdas/adapters/smtp/mailed-non-delivery-sender.ts';
import { type ForwardDeps, forwardMessage } from '../../../../lambdas/core/forward.ts';
import { ingestMessage } from '../../../../lambdas/core/ingest.ts';
import type { ForwardJob, ReceivedMail, Verdicts } from '../../../../lambdas/core/model.ts';
import { type NonDeliveryDeps, reportNonDeliveries } from '../../../../lambdas/core/report-non-delivery.ts';
import type { OutboundEnvelope, OutboundMailer } from '../../../../lambdas/ports/outbound-mailer.ts';
import { headerBlockParser } from '../../../support/header-parser.ts';
import { ManualClock, MemoryRawMailStore, RecordingForwardQueue, ScriptedRelay } from '../../../support/memory-adapters.ts';
import { MemoryMessageIndex } from '../../../support/memory-message-index.ts';
import { MemorySendCounter } from '../../../support/memory-send-counter.ts';
import { receivedMail, simpleMessage } from '../../../support/received-mail.ts';

class RecordingMailer implements OutboundMailer {
  readonly sent: { envelope: OutboundEnvelope; raw: Buffer }[] = [];
  failing = false;
  async send(envelope: OutboundEnvelope, raw: Buffer): Promise<{ providerMessageId: string }> {
    if (this.failing) throw new Error('relay down');
    this.sent.push({ envelope, raw });
    return { providerMessageId: `out-${this.sent.length}` };
  }
}

describe('reportNonDeliveries', () => {
  let index: MemoryMessageIndex;
  let store: MemoryRawMailStore;
  let relay: ScriptedRelay;
  let clock: ManualClock;
  let mailer: RecordingMailer;
  let counter: MemorySendCounter;
  let forward: ForwardDeps;
  let deps: NonDeliveryDeps;

  async function receiveAndForward(overrides: Partial<ReceivedMail> = {}): Promise<ReceivedMail> {
    const mail = receivedMail({ envelopeRecipients: ['alice@corp.test', 'nobody@corp.test'], ...overrides });
    store.put(mail.raw, simpleMessage());
    const queue = new RecordingForwardQueue();
    await ingestMessage(mail, { ...ingestDeps(), forwardQueue: queue });
    const job: ForwardJob = queue.sent.shift()!.job;
    await forwardMessage(job, { ...forward, forwardQueue: queue });
    return mail;
  }

  function ingestDeps() {
    return {
      index,
      rawStore: store,
      parser: headerBlockParser,
      clock,
      workerId: 'ingest',
      config: { retentionDays: 28, stackId: 'stack-1', leaseMs: 60_000, subaddressSeparator: '+' },
    };
  }

  async function trace(mail: ReceivedMail, recipient: string): Promise<string[]> {
    const states = await index.getDeliveryStates(mail.sesMessageId, clock.now());
    return states.find((s) => s.recipient === recipient)!.attempts.map((a) => a.response);
  }

  beforeEach(() => {
    index = new MemoryMessageIndex();
    store = new MemoryRawMailStore();
    relay = new ScriptedRelay();
    relay.codes.set('nobody@corp.test', 550);
    clock = new ManualClock('2026-11-20T10:00:01.000Z');
    mailer = new RecordingMailer();
    counter = new MemorySendCounter();
    forward = {
      index,
      rawStore: store,
      relay,
      forwardQueue: new RecordingForwardQueue(),
      clock,
      workerId: 'forward-1',
      config: { stackId: 'stack-1', maxAgeMs: 5 * 86_400_000, retryBaseSeconds: 60, retryMaxDelaySeconds: 900, leaseMs: 300_000 },
    };
    deps = {
      index,
      rawStore: store,
      sender: new MailedNonDeliverySender(mailer, clock),
      counter,
      clock,
      workerId: 'forward-1',
      config: { reportingMta: 'mx.corp.test', leaseMs: 300_000 },
    };
  });

  it('sends one report for the refused recipient, from the null sender to the envelope sender, and traces it', async () => {
    const mail = await receiveAndForward();

    expect(await reportNonDeliveries(mail.sesMessageId, deps)).toEqual([{ recipient: 'nobody@corp.test', sent: true }]);

    expect(mailer.sent).toHaveLength(1);
    expect(mailer.sent[0]!.envelope).toEqual({ from: '', recipients: ['sender@partner.test'] });
    const parsed = await simpleParser(mailer.sent[0]!.raw);
    expect(parsed.from?.value[0]?.address).toBe('MAILER-DAEMON@corp.test');
    expect(parsed.text).toContain(
      'Final-Recipient: rfc822; nobody@corp.test\nAction: failed\nStatus: 5.0.0\nDiagnostic-Code: smtp; 550 scripted reply',
    );
    expect(parsed.attachments[0]!.content.toString()).toContain('Message-ID: <m1@partner.test>');
    expect(mailer.sent[0]!.raw.toString()).not.toContain('the numbers are attached');
    expect(await trace(mail, 'nobody@corp.test')).toEqual([
      '550 scripted reply',
      'non-delivery report sending to sender@partner.test',
      'non-delivery report sent to sender@partner.test (out-1)',
    ]);
    expect(await trace(mail, 'alice@corp.test')).toEqual(['250 scripted reply']);
  });

  it('reports a message too large for the primary to every recipient, with status 5.3.4', async () => {
    forward.config = { ...forward.config, maxMessageBytes: 65_536 };
    const mail = receivedMail({ envelopeRecipients: ['alice@corp.test'] });
    store.put(mail.raw, simpleMessage({ body: 'x'.repeat(70_000) }));
    const queue = new RecordingForwardQueue();
    await ingestMessage(mail, { ...ingestDeps(), forwardQueue: queue });
    await forwardMessage(queue.sent.shift()!.job, { ...forward, forwardQueue: queue });

    expect(await reportNonDeliveries(mail.sesMessageId, deps)).toEqual([{ recipient: 'alice@corp.test', sent: true }]);
    const parsed = await simpleParser(mailer.sent[0]!.raw);
    expect(parsed.text).toContain('Final-Recipient: rfc822; alice@corp.test\nAction: failed\nStatus: 5.3.4\n');
    expect(parsed.text).toMatch(/too large for the primary: \d+ bytes, the primary takes at most 65536/);
    expect(relay.sent).toEqual([]);
  });

  it('sends no second report for the same message and recipient', async () => {
    const mail = await receiveAndForward();
    await reportNonDeliveries(mail.sesMessageId, deps);

    expect(await reportNonDeliveries(mail.sesMessageId, { ...deps, workerId: 'forward-2' })).toEqual([]);
    expect(mailer.sent).toHaveLength(1);
  });

  it.each<[string, Partial<ReceivedMail>, RegExp]>([
    [
      'a forged sender',
      { verdicts: { spam: 'PASS', virus: 'PASS', spf: 'FAIL', dkim: 'FAIL', dmarc: 'FAIL' } satisfies Verdicts },
      /not authenticated/,
    ],
    ['the null sender', { envelopeFrom: '' }, /null sender/],
    ['a spam verdict', { verdicts: { spam: 'FAIL', virus: 'PASS', spf: 'PASS', dkim: 'PASS', dmarc: 'PASS' } }, /spam/],
  ])('withholds the report for %s, and says why in the trace', async (_, overrides, why) => {
    const mail = await receiveAndForward(overrides);

    const [outcome] = await reportNonDeliveries(mail.sesMessageId, deps);

    expect(outcome).toMatchObject({ recipient: 'nobody@corp.test', sent: false, reason: expect.stringMatching(why) });
    expect(mailer.sent).toEqual([]);
    expect((await trace(mail, 'nobody@corp.test')).at(-1)).toMatch(new RegExp(`^non-delivery report withheld: .*${why.source}`));
  });

  it('does not send again after a worker died while sending (the report may be out): withheld as in doubt, at most one', async () => {
    const mail = await receiveAndForward();
    let handedOver = false;
    const dying = {
      send: () => {
        handedOver = true;
        return new Promise<never>(() => undefined);
      },
    };
    void reportNonDeliveries(mail.sesMessageId, { ...deps, sender: dying });
    await vi.waitFor(() => expect(handedOver).toBe(true));
    clock.advance(300_001); // the dead worker's lease runs out

    const [outcome] = await reportNonDeliveries(mail.sesMessageId, { ...deps, workerId: 'forward-2' });

    expect(outcome).toEqual({ recipient: 'nobody@corp.test', sent: false, reason: expect.stringMatching(/in doubt/) });
    expect(mailer.sent).toEqual([]);
    expect((await trace(mail, 'nobody@corp.test')).slice(1)).toEqual([
      'non-delivery report sending to sender@partner.test',
      expect.stringMatching(/^non-delivery report withheld: in doubt/),
    ]);
  });

  it('reports nothing for a recipient still deferred or refused with a 4xx', async () => {
    relay.codes.set('nobody@corp.test', 451);
    const mail = await receiveAndForward();
    expect(await reportNonDeliveries(mail.sesMessageId, deps)).toEqual([]);
    expect(mailer.sent).toEqual([]);
  });

  it('does not read the message record when no recipient is owed a report (every forward asks)', async () => {
    // Arrange
    relay.codes.delete('nobody@corp.test');
    const mail = await receiveAndForward();
    const getMessage = vi.spyOn(index, 'getMessage');
    // Act
    const outcomes = await reportNonDeliveries(mail.sesMessageId, deps);
    // Assess
    expect(outcomes).toEqual([]);
    expect(getMessage).not.toHaveBeenCalled();
  });

  it('withholds reports to one sender domain beyond the hourly limit', async () => {
    const limited = { ...deps, config: { ...deps.config, perDomainPerHour: 1 } };
    const first = await receiveAndForward({ sesMessageId: 'ses-1' });
    const second = await receiveAndForward({ sesMessageId: 'ses-2' });
    await reportNonDeliveries(first.sesMessageId, limited);

    expect(await reportNonDeliveries(second.sesMessageId, limited)).toEqual([
      { recipient: 'nobody@corp.test', sent: false, reason: 'more than 1 reports to partner.test in this hour' },
    ]);
    expect(mailer.sent).toHaveLength(1);
  });

  it('withholds the report when the route can never send it, says why, and gives the count back', async () => {
    const mail = await receiveAndForward();
    const never = { send: async () => ({ sent: false as const, reason: 'SES sends bounces only within 24 hours of receipt' }) };

    expect(await reportNonDeliveries(mail.sesMessageId, { ...deps, sender: never })).toEqual([
      { recipient: 'nobody@corp.test', sent: false, reason: 'SES sends bounces only within 24 hours of receipt' },
    ]);
    expect((await trace(mail, 'nobody@corp.test')).at(-1)).toBe(
      'non-delivery report withheld: SES sends bounces only within 24 hours of receipt',
    );
    expect([...counter.counts.values()].map((c) => c.messages)).toEqual([0]);
  });

  it('tries again when the report could not be sent, and gives the count back', async () => {
    const limited = { ...deps, config: { ...deps.config, perDomainPerHour: 1 } };
    const mail = await receiveAndForward();
    mailer.failing = true;
    await expect(reportNonDeliveries(mail.sesMessageId, limited)).rejects.toThrow('relay down');
    mailer.failing = false;

    expect(await reportNonDeliveries(mail.sesMessageId, limited)).toEqual([{ recipient: 'nobody@corp.test', sent: true }]);
  });
});

// The send-draft use case under its once-gate: a draft is sent once however often its
// form is submitted, a concurrent submit is told "busy", and a send that fails or is
// refused releases the gate so the corrected form can be sent.
import { beforeEach, describe, expect, it } from 'vitest';
import { NodemailerMimeComposer } from '../../../../../lambdas/adapters/mime/nodemailer-mime-composer.ts';
import { DraftError } from '../../../../../lambdas/core/compose/draft.ts';
import type { ComposeForm } from '../../../../../lambdas/core/compose/form.ts';
import { SendLimitError } from '../../../../../lambdas/core/compose/send-limits.ts';
import { type SendOnceDeps, sendDraftOnce } from '../../../../../lambdas/core/compose/send-once.ts';
import { RetryableError } from '../../../../../lambdas/core/errors.ts';
import type { OutboundEnvelope, OutboundMailer } from '../../../../../lambdas/ports/outbound-mailer.ts';
import type { Identity } from '../../../../../lambdas/ports/sign-in.ts';
import { ManualClock } from '../../../../support/memory-adapters.ts';
import { MemoryMessageIndex } from '../../../../support/memory-message-index.ts';
import { MemoryAuditLog } from '../../../../support/memory-resend.ts';
import { MemorySendCounter } from '../../../../support/memory-send-counter.ts';

const ALICE: Identity = { subject: 'sub-alice', email: 'alice@corp.test', name: 'Alice', groups: [] };
const FORM: ComposeForm = { to: 'bob@partner.test', subject: 'Hello', text: 'Hi Bob' };

/** Records what it sends; `hold` keeps sends waiting until `release`, and resolves once one is waiting. */
class GatedMailer implements OutboundMailer {
  readonly sent: OutboundEnvelope[] = [];
  fail: Error | null = null;
  private held: Promise<void> | null = null;
  private releaseHeld: (() => void) | null = null;
  private arrived: (() => void) | null = null;

  hold(): Promise<void> {
    this.held = new Promise((resolve) => {
      this.releaseHeld = resolve;
    });
    return new Promise((resolve) => {
      this.arrived = resolve;
    });
  }

  release(): void {
    this.releaseHeld?.();
    this.held = null;
  }

  async send(envelope: OutboundEnvelope): Promise<{ providerMessageId: string }> {
    if (this.held) {
      this.arrived?.();
      await this.held;
    }
    if (this.fail) throw this.fail;
    this.sent.push(envelope);
    return { providerMessageId: `provider-${this.sent.length}` };
  }
}

let index: MemoryMessageIndex;
let mailer: GatedMailer;
let warnings: { message: string; details: Record<string, unknown> }[];
let deps: SendOnceDeps;
let audit: MemoryAuditLog;
let clock: ManualClock;

/** `count` external addresses for To. */
const externals = (count: number, tag = 'x') => Array.from({ length: count }, (_, i) => `r${i}.${tag}@partner.test`).join(', ');

beforeEach(() => {
  index = new MemoryMessageIndex();
  audit = new MemoryAuditLog();
  clock = new ManualClock('2030-03-01T12:00:00.000Z');
  mailer = new GatedMailer();
  warnings = [];
  let sequence = 0;
  deps = {
    index,
    gate: index,
    composer: new NodemailerMimeComposer(),
    mailer,
    rawWriter: { put: async () => undefined },
    resolveAttachment: async () => null,
    clock,
    sendCounter: new MemorySendCounter(),
    audit,
    newId: () => `sent-${++sequence}`,
    config: { retentionDays: 28, sentBucket: 'mail', sentKeyPrefix: 'sent/' },
    warn: (message, details) => warnings.push({ message, details }),
  };
});

describe('sendDraftOnce', () => {
  it('sends a draft once: a second send of the same draft is already-sent, another draft is sent', async () => {
    // Act
    const first = await sendDraftOnce(ALICE, 'draft-1', FORM, deps);
    const second = await sendDraftOnce(ALICE, 'draft-1', FORM, deps);
    const other = await sendDraftOnce(ALICE, 'draft-2', FORM, deps);

    // Assess
    expect(first).toMatchObject({ status: 'sent', outcome: { sesMessageId: 'sent-1', recipients: ['bob@partner.test'] } });
    expect(second).toEqual({ status: 'already-sent' });
    expect(other).toMatchObject({ status: 'sent', outcome: { sesMessageId: 'sent-2' } });
    expect(mailer.sent).toHaveLength(2);
    expect(warnings).toEqual([]);
  });

  it('answers busy to a send of the same draft while the first is still sending', async () => {
    // Prepare
    const sending = mailer.hold();
    const first = sendDraftOnce(ALICE, 'draft-1', FORM, deps);
    await sending;

    // Act
    const concurrent = await sendDraftOnce(ALICE, 'draft-1', FORM, deps);
    mailer.release();

    // Assess
    expect(concurrent).toEqual({ status: 'busy' });
    expect(await first).toMatchObject({ status: 'sent' });
    expect(mailer.sent).toHaveLength(1);
  });

  it('releases the gate when the send fails, so the same draft can be sent again', async () => {
    // Prepare
    mailer.fail = new RetryableError('relay down');

    // Act
    const failed = sendDraftOnce(ALICE, 'draft-1', FORM, deps);
    await expect(failed).rejects.toThrow('relay down');
    mailer.fail = null;
    const retried = await sendDraftOnce(ALICE, 'draft-1', FORM, deps);

    // Assess
    expect(retried).toMatchObject({ status: 'sent' });
    expect(mailer.sent).toHaveLength(1);
  });

  it('releases the gate when the form is refused, so the corrected form can be sent', async () => {
    // Act
    const refused = await sendDraftOnce(ALICE, 'draft-1', { ...FORM, to: 'not an address' }, deps).catch((error: unknown) => error);
    const corrected = await sendDraftOnce(ALICE, 'draft-1', FORM, deps);

    // Assess
    expect(refused).toBeInstanceOf(DraftError);
    expect(refused).toMatchObject({ field: 'to', problem: 'invalid-address' });
    expect(corrected).toMatchObject({ status: 'sent' });
  });

  it('reports a gate that cannot be completed or released as a warning, never as the send failing', async () => {
    // Prepare
    deps.gate = {
      acquireOnce: (...args) => index.acquireOnce(...args),
      completeOnce: async () => {
        throw new Error('table unavailable');
      },
      releaseOnce: async () => {
        throw new Error('table unavailable');
      },
    };

    // Act
    const sent = await sendDraftOnce(ALICE, 'draft-1', FORM, deps);
    mailer.fail = new Error('refused');
    const failed = await sendDraftOnce(ALICE, 'draft-2', FORM, deps).catch((error: unknown) => error);

    // Assess
    expect(sent).toMatchObject({ status: 'sent' });
    expect(failed).toMatchObject({ message: 'refused' });
    expect(warnings).toEqual([
      { message: 'send gate not completed', details: { gate: 'webmail-send#alice@corp.test#draft-1', error: 'Error: table unavailable' } },
      { message: 'send gate not released', details: { gate: 'webmail-send#alice@corp.test#draft-2', error: 'Error: table unavailable' } },
    ]);
  });

  it('refuses the send that would pass the hourly recipient limit: ten messages of 100 recipients each, fast', async () => {
    // Act
    const results = [];
    for (let i = 0; i < 10; i++)
      results.push(
        await sendDraftOnce(ALICE, `draft-${i}`, { ...FORM, to: externals(100, String(i)) }, deps).catch((error: unknown) => error),
      );

    // Assess: the default 200 recipients an hour let two through; the rest send nothing and are audited.
    expect(results.slice(0, 2)).toMatchObject([{ status: 'sent' }, { status: 'sent' }]);
    for (const refused of results.slice(2)) {
      expect(refused).toBeInstanceOf(SendLimitError);
      expect(refused).toMatchObject({
        window: 'hour',
        limits: { messages: 30, recipients: 200 },
        until: new Date('2030-03-01T13:00:00.000Z'),
      });
    }
    expect(mailer.sent).toHaveLength(2);
    expect(audit.events).toHaveLength(8);
    expect(audit.events[0]).toMatchObject({
      actor: 'alice@corp.test',
      action: 'mail.send.limited',
      target: 'alice@corp.test',
      outcome: 'denied',
      details: { window: 'hour', recipients: 100, maxMessages: 30, maxRecipients: 200 },
    });
  });

  it('holds each limit: messages per hour, and per day across hours', async () => {
    // Prepare
    deps.config.sendLimits = { messagesPerHour: 2, recipientsPerHour: 50, messagesPerDay: 3, recipientsPerDay: 60 };
    const send = (draft: string) => sendDraftOnce(ALICE, draft, FORM, deps).catch((error: unknown) => error);

    // Act
    const hour1 = [await send('a'), await send('b'), await send('c')];
    clock.advance(3_600_000);
    const hour2 = [await send('d'), await send('e')];
    clock.advance(12 * 3_600_000);
    const nextDay = await send('f');

    // Assess
    expect(hour1.map((r) => (r instanceof SendLimitError ? r.window : 'sent'))).toEqual(['sent', 'sent', 'hour']);
    expect(hour2.map((r) => (r instanceof SendLimitError ? r.window : 'sent'))).toEqual(['sent', 'day']);
    expect(nextDay).toMatchObject({ status: 'sent' });
    expect(mailer.sent).toHaveLength(4);
  });

  it('gives the reservation back when the send fails, and counts a resubmitted sent draft once', async () => {
    // Prepare
    deps.config.sendLimits = { messagesPerHour: 1, recipientsPerHour: 100, messagesPerDay: 10, recipientsPerDay: 1000 };
    mailer.fail = new RetryableError('relay down');

    // Act
    const failed = await sendDraftOnce(ALICE, 'draft-1', FORM, deps).catch((error: unknown) => error);
    mailer.fail = null;
    const sent = await sendDraftOnce(ALICE, 'draft-1', FORM, deps);
    const again = await sendDraftOnce(ALICE, 'draft-1', FORM, deps);
    const other = await sendDraftOnce(ALICE, 'draft-2', FORM, deps).catch((error: unknown) => error);

    // Assess
    expect(failed).toBeInstanceOf(RetryableError);
    expect(sent).toMatchObject({ status: 'sent' });
    expect(again).toEqual({ status: 'already-sent' });
    expect(other).toBeInstanceOf(SendLimitError);
    expect(mailer.sent).toHaveLength(1);
  });

  it('refuses the send when the refusal cannot be audited, and says so in a warning', async () => {
    // Prepare
    deps.config.sendLimits = { messagesPerHour: 0, recipientsPerHour: 100, messagesPerDay: 10, recipientsPerDay: 1000 };
    audit.failNext = 10;

    // Act
    const refused = await sendDraftOnce(ALICE, 'draft-1', FORM, deps).catch((error: unknown) => error);

    // Assess
    expect(refused).toBeInstanceOf(SendLimitError);
    expect(mailer.sent).toEqual([]);
    expect(warnings).toMatchObject([{ message: 'send limit not audited' }]);
  });
});

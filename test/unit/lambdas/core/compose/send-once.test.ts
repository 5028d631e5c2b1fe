// The send-draft use case under its once-gate: a draft is sent once however often its
// form is submitted, a concurrent submit is told "busy", and a send that fails or is
// refused releases the gate so the corrected form can be sent.
import { beforeEach, describe, expect, it } from 'vitest';
import { NodemailerMimeComposer } from '../../../../../lambdas/adapters/mime/nodemailer-mime-composer.ts';
import { DraftError } from '../../../../../lambdas/core/compose/draft.ts';
import type { ComposeForm } from '../../../../../lambdas/core/compose/form.ts';
import { type SendOnceDeps, sendDraftOnce } from '../../../../../lambdas/core/compose/send-once.ts';
import { RetryableError } from '../../../../../lambdas/core/errors.ts';
import type { OutboundEnvelope, OutboundMailer } from '../../../../../lambdas/ports/outbound-mailer.ts';
import type { Identity } from '../../../../../lambdas/ports/sign-in.ts';
import { ManualClock } from '../../../../support/memory-adapters.ts';
import { MemoryMessageIndex } from '../../../../support/memory-message-index.ts';

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

beforeEach(() => {
  index = new MemoryMessageIndex();
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
    clock: new ManualClock('2030-03-01T12:00:00.000Z'),
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
});

// The webmail's send: a compose form is sent once however often it is submitted. Every
// form carries a random draft id; the send runs under the once-gate
// `webmail-send#<mailbox>#<draft id>` (a conditional write, so two concurrent submits
// cannot both win). A refused or failed send releases the gate, so the corrected form
// can be sent; a sent one completes it, and a second submit sends nothing (and is
// counted against the send limits once). A send refused by the limits is audited.
import { randomUUID } from 'node:crypto';
import type { AuditLog } from '../../ports/audit-log.ts';
import type { MessageIndex } from '../../ports/message-index.ts';
import type { OnceGate } from '../../ports/once-gate.ts';
import type { Identity } from '../../ports/sign-in.ts';
import { recordAudit } from '../audit.ts';
import { mailboxesOf } from '../mailbox.ts';
import { runOnce } from '../once.ts';
import { type ComposeForm, draftFromForm } from './form.ts';
import { type SendDeps, type SendOutcome, sendDraft } from './send.ts';
import { SendLimitError } from './send-limits.ts';

/** How long one submit may hold the draft's once-gate (a send through a slow relay included). */
export const SEND_GATE_MS = 5 * 60_000;

export interface SendOnceDeps extends SendDeps {
  /** Also maps the signed-in user to their mailbox, the gate key's first part. */
  index: MessageIndex;
  gate: OnceGate;
  /** Where sends refused by the limits are recorded (mail.send.limited). */
  audit: AuditLog;
  /** Gate errors after the send: the mail is out (or refused) either way, so they are only logged. */
  warn: (message: string, details: Record<string, unknown>) => void;
  /** Owner of one submit's lease (default a random UUID). */
  newGateOwner?: () => string;
}

export type SendOnceResult = { status: 'sent'; outcome: SendOutcome } | { status: 'already-sent' } | { status: 'busy' };

/**
 * Sends the form as the signed-in user unless this draft was sent before (already-sent)
 * or another submit of it is sending now (busy). A DraftError, a SendLimitError or a
 * failed send is thrown after the gate is released.
 */
export async function sendDraftOnce(identity: Identity, draftId: string, form: ComposeForm, deps: SendOnceDeps): Promise<SendOnceResult> {
  const [mailbox] = await mailboxesOf(identity, deps.index);
  const gate = `webmail-send#${mailbox}#${draftId}`;
  const ran = await runOnce(
    deps.gate,
    { key: gate, owner: deps.newGateOwner?.() ?? randomUUID(), now: deps.clock.now(), leaseMs: SEND_GATE_MS },
    // The form is read inside the gate: a second submit of a sent form is "already sent", whatever it holds.
    () => sendDraft(identity, draftFromForm(identity, form), deps),
    {
      onGateError: (step, error) =>
        deps.warn(step === 'release' ? 'send gate not released' : 'send gate not completed', { gate, error: String(error) }),
    },
  ).catch(async (error: unknown) => {
    if (error instanceof SendLimitError) await auditLimited(identity, mailbox, error, deps);
    throw error;
  });
  if (ran.status === 'done') return { status: 'already-sent' };
  if (ran.status === 'busy') return { status: 'busy' };
  return { status: 'sent', outcome: ran.value };
}

/** Records a refused send; the refusal stands even when the log cannot be written. */
async function auditLimited(identity: Identity, mailbox: string | undefined, error: SendLimitError, deps: SendOnceDeps): Promise<void> {
  await recordAudit(
    deps.audit,
    deps.clock,
    {
      actor: identity.email,
      action: 'mail.send.limited',
      target: mailbox ?? null,
      details: {
        window: error.window,
        recipients: error.recipients,
        maxMessages: error.limits.messages,
        maxRecipients: error.limits.recipients,
      },
    },
    'denied',
  ).catch((auditError: unknown) => deps.warn('send limit not audited', { mailbox, error: String(auditError) }));
}

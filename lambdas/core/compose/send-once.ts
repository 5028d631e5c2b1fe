// The webmail's send: a compose form is sent once however often it is submitted. Every
// form carries a random draft id; the send runs under the once-gate
// `webmail-send#<mailbox>#<draft id>` (a conditional write, so two concurrent submits
// cannot both win). A refused or failed send releases the gate, so the corrected form
// can be sent; a sent one completes it, and a second submit sends nothing.
import { randomUUID } from 'node:crypto';
import type { MessageIndex } from '../../ports/message-index.ts';
import type { OnceGate } from '../../ports/once-gate.ts';
import type { Identity } from '../../ports/sign-in.ts';
import { mailboxesOf } from '../mailbox.ts';
import { runOnce } from '../once.ts';
import { type ComposeForm, draftFromForm } from './form.ts';
import { type SendDeps, type SendOutcome, sendDraft } from './send.ts';

/** How long one submit may hold the draft's once-gate (a send through a slow relay included). */
export const SEND_GATE_MS = 5 * 60_000;

export interface SendOnceDeps extends SendDeps {
  /** Also maps the signed-in user to their mailbox, the gate key's first part. */
  index: MessageIndex;
  gate: OnceGate;
  /** Gate errors after the send: the mail is out (or refused) either way, so they are only logged. */
  warn: (message: string, details: Record<string, unknown>) => void;
  /** Owner of one submit's lease (default a random UUID). */
  newGateOwner?: () => string;
}

export type SendOnceResult = { status: 'sent'; outcome: SendOutcome } | { status: 'already-sent' } | { status: 'busy' };

/**
 * Sends the form as the signed-in user unless this draft was sent before (already-sent)
 * or another submit of it is sending now (busy). A DraftError or a failed send is thrown
 * after the gate is released.
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
  );
  if (ran.status === 'done') return { status: 'already-sent' };
  if (ran.status === 'busy') return { status: 'busy' };
  return { status: 'sent', outcome: ran.value };
}

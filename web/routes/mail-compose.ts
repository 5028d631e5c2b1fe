// Writing mail: the compose form (new, reply, reply all, forward) and POST /send.
// From is always the signed-in user (the use case sets it from the identity); the
// form's fields go through draftFromForm → sendDraft, whose DraftError comes back as
// the form with the message at its field (400). Success redirects to Sent.
//
// Double submit: every form carries a random draft id. /send takes the index's
// once-gate `webmail-send#<mailbox>#<draft id>` before sending (a conditional write in
// DynamoDB, so two concurrent submits cannot both win), completes it after a send and
// releases it after a refusal, so the corrected form can be sent. A second submit of a
// sent form is answered with "already sent" and sends nothing.
import { randomUUID } from 'node:crypto';
import { Hono, type Context } from 'hono';
import {
  draftFromForm,
  DraftError,
  formatAddressList,
  forwardDraft,
  ownAddressesIn,
  replyDraft,
  sendDraft,
  storedAttachmentResolver,
  type ComposeForm,
  type Draft,
} from '../../lambdas/core/compose.ts';
import { InvalidInputError, RetryableError } from '../../lambdas/core/errors.ts';
import { mailboxesOf, openEntry } from '../../lambdas/core/mailbox.ts';
import { csrfTokenOf, identityOf, type WebEnv } from '../middleware/context.ts';
import { messagePage, renderPage } from '../views/layout.tsx';
import { FolderNav, FOLDER_PATHS } from '../views/mail/common.tsx';
import {
  ComposeView,
  COMPOSE_MODES,
  COMPOSE_TITLES,
  type ComposeField,
  type ComposeMode,
  type ComposeValues,
  type StoredAttachmentChoice,
} from '../views/mail/compose.tsx';
import { composeLimitsOf, loggerOf, NO_INLINE_IMAGES, renderStored, type MailRouteDeps } from './mail-deps.ts';
import type { Translate } from '../i18n/index.ts';

/** How long one submit may hold the draft's once-gate (a send through a slow relay included). */
const SEND_GATE_MS = 5 * 60_000;
const DRAFT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** Room for the text fields and the multipart framing on top of the attachments. */
const FORM_OVERHEAD_BYTES = 4 * 1024 * 1024;

export function composeRoutes(deps: MailRouteDeps): Hono<WebEnv> {
  const routes = new Hono<WebEnv>();
  const limits = composeLimitsOf(deps);
  const maxAttachmentMb = Math.floor(limits.maxAttachmentBytes / (1024 * 1024));

  const show = (c: Context<WebEnv>, state: FormState, status = 200) => {
    const t = c.get('t');
    return renderPage(c, {
      title: t(COMPOSE_TITLES[state.mode]),
      status,
      nav: FolderNav({ t, current: state.mode === 'new' ? 'compose' : null }),
      body: ComposeView({
        t,
        lang: c.get('lang'),
        csrfToken: csrfTokenOf(c),
        mode: state.mode,
        from: identityOf(c).email,
        values: state.values,
        stored: state.stored,
        errors: state.errors ?? {},
        formError: state.formError ?? null,
        filesLost: state.filesLost ?? false,
        maxAttachmentMb,
      }),
    });
  };

  routes.get('/compose', (c) => {
    const to = c.req.query('to') ?? '';
    return show(c, { mode: 'new', values: emptyValues({ to: to.length <= 1000 ? to : '' }), stored: [] });
  });

  const answer = (mode: 'reply' | 'reply-all' | 'forward') => async (c: Context<WebEnv>) => {
    const identity = identityOf(c);
    const opened = await openEntry(identity, c.req.param('id') ?? '', deps);
    const { rendered } = await renderStored(deps, opened.record, NO_INLINE_IMAGES);
    // Without a readable original there is nothing to quote or forward: back to the message.
    if (!rendered) return c.redirect(`/mail/m/${encodeURIComponent(opened.entry.sesMessageId)}`, 303);
    const text = { locale: c.get('lang'), timeZone: c.get('timeZone') };
    const draft: Draft =
      mode === 'forward'
        ? forwardDraft(rendered, identity, { ...text, sesMessageId: opened.entry.sesMessageId })
        : replyDraft(rendered, identity, { ...text, all: mode === 'reply-all', ownAddresses: await ownAddressesIn(rendered, identity, deps.index) });
    const stored: StoredAttachmentChoice[] = draft.attachments.flatMap((attachment) =>
      attachment.kind === 'stored'
        ? [{ index: attachment.index, filename: attachment.filename ?? '', contentType: attachment.contentType ?? '', size: attachment.size ?? 0, checked: true }]
        : [],
    );
    return show(c, {
      mode,
      values: {
        to: formatAddressList(draft.to),
        cc: formatAddressList(draft.cc),
        bcc: '',
        subject: draft.subject,
        text: draft.text,
        inReplyTo: draft.inReplyTo ?? '',
        references: (draft.references ?? []).join(' '),
        draftId: randomUUID(),
        originalId: opened.entry.sesMessageId,
      },
      stored,
    });
  };
  routes.get('/m/:id/reply', answer('reply'));
  routes.get('/m/:id/reply-all', answer('reply-all'));
  routes.get('/m/:id/forward', answer('forward'));

  routes.post('/send', async (c) => {
    const identity = identityOf(c);
    const t = c.get('t');
    const length = Number(c.req.header('content-length') ?? '0');
    if (length > limits.maxAttachmentBytes + FORM_OVERHEAD_BYTES) {
      return messagePage(c, { title: t('compose.tooBig.title'), text: t('compose.tooBig.body'), status: 413 });
    }
    const posted = await readPostedForm(c);
    const state: FormState = { mode: posted.mode, values: posted.values, stored: [], filesLost: posted.uploads.length > 0 };

    // The forwarded message must be the user's (this answers 404 otherwise); its
    // attachment list is needed anyway if the form has to be shown again.
    // (Attachments to keep without a message they belong to are ignored below.)
    const original = posted.values.originalId ? await openEntry(identity, posted.values.originalId, deps) : null;
    const restoreStored = async () => {
      if (posted.mode !== 'forward' || !original) return;
      const { rendered } = await renderStored(deps, original.record, NO_INLINE_IMAGES);
      state.stored = (rendered?.attachments ?? [])
        .filter((attachment) => !(attachment.inline && attachment.contentId))
        .map((attachment) => ({ ...attachment, checked: posted.keep.includes(attachment.index) }));
    };

    if (!DRAFT_ID.test(posted.values.draftId)) {
      // A form from elsewhere (or an old one): show it again with a fresh id.
      posted.values.draftId = randomUUID();
      await restoreStored();
      return show(c, { ...state, formError: t('compose.error.replyData') }, 400);
    }

    const [mailbox] = await mailboxesOf(identity, deps.index);
    if (mailbox === undefined) return show(c, { ...state, formError: t('compose.error.sender') }, 400);
    const gate = `webmail-send#${mailbox}#${posted.values.draftId}`;
    const owner = randomUUID();
    const held = await deps.index.acquireOnce(gate, owner, deps.clock.now(), SEND_GATE_MS);
    if (held === 'done') return c.redirect(`${FOLDER_PATHS.sent}?done=already-sent`, 303);
    if (held === 'busy') return messagePage(c, { title: t('compose.busy.title'), text: t('compose.busy.body'), status: 409, link: { href: FOLDER_PATHS.sent, label: t('mail.folder.sent') } });

    let outcome;
    try {
      const form: ComposeForm = {
        to: posted.values.to,
        cc: posted.values.cc,
        bcc: posted.values.bcc,
        subject: posted.values.subject,
        text: posted.values.text,
        inReplyTo: posted.values.inReplyTo,
        references: posted.values.references,
        uploads: posted.uploads,
        stored: original ? posted.keep.map((index) => ({ sesMessageId: original.entry.sesMessageId, index })) : [],
      };
      outcome = await sendDraft(identity, draftFromForm(identity, form), {
        index: deps.index,
        composer: deps.composer,
        mailer: deps.mailer,
        rawWriter: deps.rawWriter,
        resolveAttachment: storedAttachmentResolver({ index: deps.index, rawStore: deps.rawStore, renderer: deps.renderer, clock: deps.clock }),
        clock: deps.clock,
        config: deps.send,
      });
    } catch (error) {
      await deps.index.releaseOnce(gate, owner).catch((releaseError: unknown) =>
        loggerOf(deps).warn('send gate not released', { gate, error: String(releaseError) }),
      );
      const problem = formProblem(error, t, limits);
      if (problem === null) throw error;
      if (problem.status >= 500) loggerOf(deps).warn('sending failed', { error: String(error), cause: String((error as Error).cause ?? '') });
      await restoreStored();
      return show(c, { ...state, ...(problem.field ? { errors: { [problem.field]: problem.message } } : { formError: problem.message }) }, problem.status);
    }
    await deps.index.completeOnce(gate, owner).catch((error: unknown) => loggerOf(deps).warn('send gate not completed', { gate, error: String(error) }));
    loggerOf(deps).info('mail sent', { sentId: outcome.sesMessageId, mailbox: outcome.mailbox, recipients: outcome.recipients.length, provider: outcome.providerMessageId });
    if (outcome.sentCopyError) {
      loggerOf(deps).error('sent copy not indexed', { sentId: outcome.sesMessageId, error: String(outcome.sentCopyError) });
      return c.redirect(`${FOLDER_PATHS.sent}?done=sent-no-copy`, 303);
    }
    return c.redirect(`${FOLDER_PATHS.sent}?done=sent`, 303);
  });

  return routes;
}

interface FormState {
  mode: ComposeMode;
  values: ComposeValues;
  stored: StoredAttachmentChoice[];
  errors?: Partial<Record<ComposeField, string>>;
  formError?: string | null;
  filesLost?: boolean;
}

function emptyValues(overrides: Partial<ComposeValues> = {}): ComposeValues {
  return { to: '', cc: '', bcc: '', subject: '', text: '', inReplyTo: '', references: '', draftId: randomUUID(), originalId: '', ...overrides };
}

interface PostedForm {
  mode: ComposeMode;
  values: ComposeValues;
  keep: number[];
  uploads: { filename: string; contentType: string; content: Buffer }[];
}

/** The posted form (multipart or urlencoded; parsed once, by the CSRF check). */
async function readPostedForm(c: Context<WebEnv>): Promise<PostedForm> {
  const form = await c.req.formData();
  const text = (name: string) => {
    const value = form.get(name);
    return typeof value === 'string' ? value : '';
  };
  const mode = text('mode') as ComposeMode;
  const keep = form
    .getAll('keep')
    .filter((value): value is string => typeof value === 'string' && /^\d{1,6}$/.test(value))
    .map(Number);
  const uploads: PostedForm['uploads'] = [];
  for (const value of form.getAll('files')) {
    // A file input left empty still sends a part: no name, no bytes.
    if (typeof value === 'string' || (value.name === '' && value.size === 0)) continue;
    uploads.push({ filename: value.name, contentType: value.type || 'application/octet-stream', content: Buffer.from(await value.arrayBuffer()) });
  }
  return {
    mode: COMPOSE_MODES.includes(mode) ? mode : 'new',
    values: {
      to: text('to'),
      cc: text('cc'),
      bcc: text('bcc'),
      subject: text('subject'),
      // Browsers send CRLF for textarea line breaks; the composer writes CRLF itself.
      text: text('text').replace(/\r\n?/g, '\n'),
      inReplyTo: text('inReplyTo'),
      references: text('references'),
      draftId: text('draftId'),
      originalId: text('originalId'),
    },
    keep: [...new Set(keep)],
    uploads,
  };
}

/** A refusal the user can act on, as the field it belongs to and a translated message; null: not one. */
function formProblem(
  error: unknown,
  t: Translate,
  limits: { maxRecipients: number; maxAttachments: number; maxAttachmentBytes: number },
): { field: ComposeField | null; message: string; status: number } | null {
  if (error instanceof DraftError) {
    const field: ComposeField | null =
      error.field === 'recipients' ? 'to' : error.field === 'attachments' ? 'files' : (['to', 'cc', 'bcc', 'subject', 'text'] as const).find((f) => f === error.field) ?? null;
    let message: string;
    switch (error.problem) {
      case 'required':
        message = error.field === 'recipients' ? t('compose.error.noRecipients') : t('compose.error.unreadableFile');
        break;
      case 'invalid-address':
        message = error.field === 'from' ? t('compose.error.sender') : t('compose.error.invalidAddress');
        break;
      case 'invalid-message-id':
        message = t('compose.error.replyData');
        break;
      case 'control-characters':
        message = error.field === 'inReplyTo' || error.field === 'references' ? t('compose.error.replyData') : t('compose.error.controlCharacters');
        break;
      case 'too-many':
        message = error.field === 'recipients' ? t('compose.error.tooManyRecipients', { max: limits.maxRecipients }) : t('compose.error.tooManyFiles', { max: limits.maxAttachments });
        break;
      case 'too-large':
        message = t('compose.error.tooLarge', { mb: Math.floor(limits.maxAttachmentBytes / (1024 * 1024)) });
        break;
      case 'too-long':
        message = t('compose.error.tooLong');
        break;
    }
    return { field, message, status: 400 };
  }
  if (error instanceof RetryableError) return { field: null, message: t('compose.error.retry'), status: 503 };
  // The mail server refused the message as it is (a 5xx, SES MessageRejected).
  if (error instanceof InvalidInputError && !(error instanceof DraftError)) return { field: null, message: t('compose.error.refused'), status: 400 };
  return null;
}

// Writing mail: the compose form (new, reply, reply all, forward, a saved draft), POST /send
// and attaching files. From is always the signed-in user; a DraftError comes back as the
// form with the message at its field (400); success redirects to Sent. Files go to the
// store straight from the browser, never through this function (docs/design.md §4).
import { randomUUID } from 'node:crypto';
import { type Context, Hono } from 'hono';
import { type ComposeLimits, type Draft, DraftError } from '../../lambdas/core/compose/draft.ts';
import type { ComposeForm } from '../../lambdas/core/compose/form.ts';
import { formatAddressList } from '../../lambdas/core/compose/mailboxes.ts';
import { forwardDraft, ownAddressesIn, replyDraft } from '../../lambdas/core/compose/reply-forward.ts';
import { SendLimitError } from '../../lambdas/core/compose/send-limits.ts';
import { type SendOnceResult, sendDraftOnce } from '../../lambdas/core/compose/send-once.ts';
import { DRAFT_ID, draftOwner, type SavedDraft } from '../../lambdas/core/drafts.ts';
import { InvalidInputError, RawMessageMissingError, RetryableError } from '../../lambdas/core/errors.ts';
import { mailboxesOf, openEntry } from '../../lambdas/core/mailbox.ts';
import type { DraftUpload } from '../../lambdas/ports/draft-store.ts';
import type { Identity } from '../../lambdas/ports/sign-in.ts';
import { formatDateTime, type Translate } from '../i18n/index.ts';
import { csrfTokenOf, identityOf, type WebEnv } from '../middleware/context.ts';
import { allowOnThisPage } from '../middleware/security.ts';
import { messagePage, renderPage } from '../views/layout.tsx';
import { AttachView } from '../views/mail/attach.tsx';
import { FOLDER_PATHS, FolderNav, MAIL_PATH, type NoticeKey, noticeFrom } from '../views/mail/common.tsx';
import {
  COMPOSE_MODES,
  COMPOSE_TITLES,
  type ComposeField,
  type ComposeMode,
  type ComposeValues,
  ComposeView,
  type StoredAttachmentChoice,
  type UploadedFileChoice,
} from '../views/mail/compose.tsx';
import { scriptHash, UPLOAD_SIZE_CHECK } from '../views/scripts.ts';
import { composeLimitsOf, loggerOf, type MailRouteDeps, NO_INLINE_IMAGES, renderStored } from './mail-deps.ts';

/**
 * How long an upload form may be used: long enough to choose a file and send 25 MB
 * over a slow line, short enough that a copied form is soon worthless. It can only
 * ever add a file to this user's draft.
 */
export const UPLOAD_FORM_SECONDS = 15 * 60;
const UPLOAD_SCRIPT_HASH = scriptHash(UPLOAD_SIZE_CHECK);

export const DRAFTS_PATH = `${MAIL_PATH}/drafts`;
const draftPath = (draftId: string, rest = '') => `${DRAFTS_PATH}/${encodeURIComponent(draftId)}${rest}`;

export function composeRoutes(deps: MailRouteDeps): Hono<WebEnv> {
  const routes = new Hono<WebEnv>();
  const limits = composeLimitsOf(deps);
  const maxAttachmentMb = Math.floor(limits.maxAttachmentBytes / 1_000_000);

  const show = (c: Context<WebEnv>, state: FormState, status = 200) => {
    const t = c.get('t');
    return renderPage(c, {
      title: t(COMPOSE_TITLES[state.mode]),
      status,
      nav: FolderNav({ t, current: state.mode === 'new' ? 'compose' : null, admin: c.get('isAdmin') }),
      body: ComposeView({
        t,
        lang: c.get('lang'),
        csrfToken: csrfTokenOf(c),
        mode: state.mode,
        from: identityOf(c).email,
        values: state.values,
        stored: state.stored,
        uploads: state.uploads,
        errors: state.errors ?? {},
        formError: state.formError ?? null,
        notice: state.notice ?? null,
        maxAttachmentMb,
      }),
    });
  };

  /** The owner segment of the signed-in user's draft keys: their mailbox, never anything from the request. */
  const ownerOf = async (identity: Identity): Promise<string | null> => {
    const [mailbox] = await mailboxesOf(identity, deps.index);
    return mailbox === undefined ? null : draftOwner(mailbox);
  };

  /** The forwarded message's attachments as checkboxes (the message must be the user's: openEntry). */
  const storedChoices = async (
    identity: Identity,
    mode: ComposeMode,
    originalId: string,
    keep: number[] | 'all',
  ): Promise<StoredAttachmentChoice[]> => {
    if (mode !== 'forward' || originalId === '') return [];
    const original = await openEntry(identity, originalId, deps);
    const { rendered } = await renderStored(deps, original.record, NO_INLINE_IMAGES);
    return (rendered?.attachments ?? [])
      .filter((attachment) => !(attachment.inline && attachment.contentId))
      .map((attachment) => ({
        index: attachment.index,
        filename: attachment.filename,
        contentType: attachment.contentType,
        size: attachment.size,
        checked: keep === 'all' || keep.includes(attachment.index),
      }));
  };

  routes.get('/compose', (c) => {
    const to = c.req.query('to') ?? '';
    return show(c, { mode: 'new', values: emptyValues({ to: to.length <= 1000 ? to : '' }), stored: [], uploads: [] });
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
        : replyDraft(rendered, identity, {
            ...text,
            all: mode === 'reply-all',
            ownAddresses: await ownAddressesIn(rendered, identity, deps.index),
          });
    const stored: StoredAttachmentChoice[] = draft.attachments.flatMap((attachment) =>
      attachment.kind === 'stored'
        ? [
            {
              index: attachment.index,
              filename: attachment.filename ?? '',
              contentType: attachment.contentType ?? '',
              size: attachment.size ?? 0,
              checked: true,
            },
          ]
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
      uploads: [],
    });
  };
  routes.get('/m/:id/reply', answer('reply'));
  routes.get('/m/:id/reply-all', answer('reply-all'));
  routes.get('/m/:id/forward', answer('forward'));

  /** A saved draft, back in the form with its files (after an upload, or a link back from the upload page). */
  routes.get('/drafts/:draftId', async (c) => {
    const identity = identityOf(c);
    const draftId = c.req.param('draftId');
    const owner = await ownerOf(identity);
    const saved = owner && DRAFT_ID.test(draftId) ? await deps.drafts.load(owner, draftId) : null;
    if (!owner || !saved) return noDraft(c);
    const mode = modeOf(saved.mode);
    return show(c, {
      mode,
      values: { ...saved, draftId },
      stored: await storedChoices(identity, mode, saved.originalId, saved.keep),
      uploads: (await deps.drafts.uploads(owner, draftId)).map((upload) => choice(upload, true)),
      notice: noticeFrom(c.req.query('done')),
    });
  });

  /** The upload page: a presigned form for one file of at most what the draft still takes. */
  routes.get('/drafts/:draftId/attach', async (c) => {
    const t = c.get('t');
    const identity = identityOf(c);
    const draftId = c.req.param('draftId');
    const owner = await ownerOf(identity);
    const saved = owner && DRAFT_ID.test(draftId) ? await deps.drafts.load(owner, draftId) : null;
    if (!owner || !saved) return noDraft(c);
    const uploads = await deps.drafts.uploads(owner, draftId);
    const remaining = limits.maxAttachmentBytes - uploads.reduce((sum, upload) => sum + upload.size, 0);
    if (remaining < 1 || uploads.length >= limits.maxAttachments) {
      return messagePage(c, {
        title: t('attach.title'),
        text: t('attach.full', { max: Math.floor(limits.maxAttachmentBytes / 1_000_000), count: limits.maxAttachments }),
        status: 409,
        link: { href: draftPath(draftId), label: t('attach.back') },
      });
    }
    const form = await deps.drafts.uploadForm(owner, draftId, {
      maxBytes: remaining,
      redirect: `${deps.publicOrigin}${draftPath(draftId, '/uploaded')}`,
      expiresInSeconds: UPLOAD_FORM_SECONDS,
    });
    // This page alone may post a form to the store's origin and run its size check.
    allowOnThisPage(c, { formAction: [new URL(form.url).origin], scriptHashes: [UPLOAD_SCRIPT_HASH] });
    return renderPage(c, {
      title: t('attach.title'),
      nav: FolderNav({ t, current: null, admin: c.get('isAdmin') }),
      body: AttachView({ t, lang: c.get('lang'), form, maxBytes: remaining, backHref: draftPath(draftId) }),
    });
  });

  /**
   * Where the store sends the browser after an upload (S3 appends bucket, key and etag;
   * a top-level GET from S3's site, so the SameSite=Lax session cookie comes along).
   * Anyone can craft this URL, so it changes nothing: it only says whether the key is
   * one of this user's draft's files, which the listing of their own prefix decides.
   */
  routes.get('/drafts/:draftId/uploaded', async (c) => {
    const identity = identityOf(c);
    const draftId = c.req.param('draftId');
    const owner = await ownerOf(identity);
    if (!owner || !DRAFT_ID.test(draftId)) return noDraft(c);
    const key = c.req.query('key') ?? '';
    const arrived = (await deps.drafts.uploads(owner, draftId)).some((upload) => upload.location.key === key);
    return c.redirect(`${draftPath(draftId)}?done=${arrived ? 'attached' : 'upload-missing'}`, 303);
  });

  routes.post('/send', async (c) => {
    const identity = identityOf(c);
    const t = c.get('t');
    const posted = await readPostedForm(c);
    const state: FormState = { mode: posted.mode, values: posted.values, stored: [], uploads: [] };
    const restore = async () => {
      state.stored = await storedChoices(identity, posted.mode, posted.values.originalId, posted.keep);
      state.uploads = owner
        ? (await deps.drafts.uploads(owner, posted.values.draftId)).map((upload) => choice(upload, posted.uploads.includes(upload.id)))
        : [];
    };

    const owner = DRAFT_ID.test(posted.values.draftId) ? await ownerOf(identity) : null;
    if (!DRAFT_ID.test(posted.values.draftId)) {
      // A form from elsewhere (or an old one): show it again with a fresh id.
      posted.values.draftId = randomUUID();
      await restore();
      return show(c, { ...state, formError: t('compose.error.replyData') }, 400);
    }
    if (owner === null) return show(c, { ...state, formError: t('compose.error.sender') }, 400);

    // The forwarded message must be the user's (this answers 404 otherwise).
    const original = posted.values.originalId ? await openEntry(identity, posted.values.originalId, deps) : null;
    const uploads = await deps.drafts.uploads(owner, posted.values.draftId);

    const { to, cc, bcc, subject, text, inReplyTo, references } = posted.values;
    const fields = { to, cc, bcc, subject, text, inReplyTo, references };
    if (posted.action === 'attach') {
      const saved: SavedDraft = {
        mode: posted.mode,
        ...fields,
        originalId: original ? original.entry.sesMessageId : '',
        keep: posted.keep,
      };
      await deps.drafts.save(owner, posted.values.draftId, saved);
      // Files the user unchecked are dropped now, so they no longer count against the limit.
      for (const upload of uploads)
        if (!posted.uploads.includes(upload.id)) await deps.drafts.remove(owner, posted.values.draftId, upload.id);
      return c.redirect(draftPath(posted.values.draftId, '/attach'), 303);
    }

    const form: ComposeForm = {
      ...fields,
      staged: uploads
        .filter((upload) => posted.uploads.includes(upload.id))
        .map((upload) => ({
          filename: upload.filename,
          contentType: upload.contentType,
          size: upload.size,
          open: () => deps.drafts.open(upload),
        })),
      stored: original ? posted.keep.map((index) => ({ sesMessageId: original.entry.sesMessageId, index })) : [],
    };
    let sent: SendOnceResult;
    try {
      sent = await sendDraftOnce(identity, posted.values.draftId, form, deps.sending);
    } catch (error) {
      const until = (at: Date) => formatDateTime(at.toISOString(), c.get('lang'), c.get('timeZone'));
      const problem = formProblem(error, t, limits, until);
      if (problem === null) throw error;
      if (problem.status >= 500)
        loggerOf(deps).warn('sending failed', { error: String(error), cause: String((error as Error).cause ?? '') });
      await restore();
      return show(
        c,
        { ...state, ...(problem.field ? { errors: { [problem.field]: problem.message } } : { formError: problem.message }) },
        problem.status,
      );
    }
    if (sent.status === 'already-sent') return c.redirect(`${FOLDER_PATHS.sent}?done=already-sent`, 303);
    if (sent.status === 'busy')
      return messagePage(c, {
        title: t('compose.busy.title'),
        text: t('compose.busy.body'),
        status: 409,
        link: { href: FOLDER_PATHS.sent, label: t('mail.folder.sent') },
      });
    const { outcome } = sent;
    // Sent: the Sent copy holds the files now; the draft's own copies go (the bucket would expire them in a day).
    await deps.drafts
      .discard(owner, posted.values.draftId)
      .catch((error: unknown) => loggerOf(deps).warn('draft not discarded', { error: String(error) }));
    loggerOf(deps).info('mail sent', {
      sentId: outcome.sesMessageId,
      mailbox: outcome.mailbox,
      recipients: outcome.recipients.length,
      provider: outcome.providerMessageId,
    });
    if (outcome.sentCopyError) {
      loggerOf(deps).error('sent copy not indexed', { sentId: outcome.sesMessageId, error: String(outcome.sentCopyError) });
      return c.redirect(`${FOLDER_PATHS.sent}?done=sent-no-copy`, 303);
    }
    return c.redirect(`${FOLDER_PATHS.sent}?done=sent`, 303);
  });

  return routes;
}

function noDraft(c: Context<WebEnv>): Promise<Response> {
  const t = c.get('t');
  return messagePage(c, {
    title: t('attach.noDraft.title'),
    text: t('attach.noDraft.body'),
    status: 404,
    link: { href: `${MAIL_PATH}/compose`, label: t('mail.nav.compose') },
  });
}

function choice(upload: DraftUpload, checked: boolean): UploadedFileChoice {
  return { id: upload.id, filename: upload.filename, size: upload.size, checked };
}

function modeOf(value: string): ComposeMode {
  return COMPOSE_MODES.includes(value as ComposeMode) ? (value as ComposeMode) : 'new';
}

interface FormState {
  mode: ComposeMode;
  values: ComposeValues;
  stored: StoredAttachmentChoice[];
  uploads: UploadedFileChoice[];
  errors?: Partial<Record<ComposeField, string>>;
  formError?: string | null;
  notice?: NoticeKey | null;
}

function emptyValues(overrides: Partial<ComposeValues> = {}): ComposeValues {
  return {
    to: '',
    cc: '',
    bcc: '',
    subject: '',
    text: '',
    inReplyTo: '',
    references: '',
    draftId: randomUUID(),
    originalId: '',
    ...overrides,
  };
}

interface PostedForm {
  action: 'send' | 'attach';
  mode: ComposeMode;
  values: ComposeValues;
  keep: number[];
  /** The draft's uploaded files still checked. */
  uploads: string[];
}

/** The posted form (multipart or urlencoded; parsed once, by the CSRF check; text only, files go to the store). */
async function readPostedForm(c: Context<WebEnv>): Promise<PostedForm> {
  const form = await c.req.formData();
  const text = (name: string) => {
    const value = form.get(name);
    return typeof value === 'string' ? value : '';
  };
  const keep = form
    .getAll('keep')
    .filter((value): value is string => typeof value === 'string' && /^\d{1,6}$/.test(value))
    .map(Number);
  const uploads = form.getAll('upload').filter((value): value is string => typeof value === 'string' && /^[0-9a-z-]{1,64}$/.test(value));
  return {
    action: text('action') === 'attach' ? 'attach' : 'send',
    mode: modeOf(text('mode')),
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
    uploads: [...new Set(uploads)],
  };
}

/** A refusal the user can act on, as the field it belongs to and a translated message; null: not one. */
function formProblem(
  error: unknown,
  t: Translate,
  limits: ComposeLimits,
  formatTime: (at: Date) => string,
): { field: ComposeField | null; message: string; status: number } | null {
  // The user's own send limit: nothing was sent, the form stays, and they learn when they may send again.
  if (error instanceof SendLimitError)
    return {
      field: null,
      message: t(error.window === 'hour' ? 'compose.error.limitHour' : 'compose.error.limitDay', {
        messages: error.limits.messages,
        recipients: error.limits.recipients,
        until: formatTime(error.until),
      }),
      status: 429,
    };
  if (error instanceof DraftError) {
    const field: ComposeField | null =
      error.field === 'recipients'
        ? 'to'
        : error.field === 'attachments'
          ? 'files'
          : ((['to', 'cc', 'bcc', 'subject', 'text'] as const).find((f) => f === error.field) ?? null);
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
        message =
          error.field === 'inReplyTo' || error.field === 'references' ? t('compose.error.replyData') : t('compose.error.controlCharacters');
        break;
      case 'too-many':
        message =
          error.field === 'recipients'
            ? t('compose.error.tooManyRecipients', { max: limits.maxRecipients })
            : t('compose.error.tooManyFiles', { max: limits.maxAttachments });
        break;
      case 'too-large':
        message = t('compose.error.tooLarge', { mb: Math.floor(limits.maxAttachmentBytes / 1_000_000) });
        break;
      case 'too-long':
        message = t('compose.error.tooLong');
        break;
    }
    return { field, message, status: 400 };
  }
  // An uploaded file that vanished (the bucket expires them after a day) is the user's to fix, not a retry.
  if (error instanceof RawMessageMissingError) return { field: 'files', message: t('compose.error.uploadGone'), status: 400 };
  if (error instanceof RetryableError) return { field: null, message: t('compose.error.retry'), status: 503 };
  // The mail server refused the message as it is (a 5xx, SES MessageRejected).
  if (error instanceof InvalidInputError && !(error instanceof DraftError))
    return { field: null, message: t('compose.error.refused'), status: 400 };
  return null;
}

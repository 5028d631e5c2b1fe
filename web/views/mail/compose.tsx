// The compose form for a new message, a reply, reply all and a forward: labelled
// fields, errors tied to their field (aria-invalid + aria-describedby) and listed in a
// summary at the top, the files uploaded for this draft and the forwarded message's
// attachments as checkboxes, "Attach a file" (which saves the draft first and leads to
// the upload page: files never pass through this form), and the hidden fields that
// carry the thread (In-Reply-To, References), the CSRF
// token and the one-time draft id that stops a second submit from sending twice.
import type { DraftFields } from '../../../lambdas/core/drafts.ts';
import type { Translate } from '../../i18n/index.ts';
import { formatSize, MAIL_PATH, messagePath, Notice, type NoticeKey } from './common.tsx';

export type ComposeMode = 'new' | 'reply' | 'reply-all' | 'forward';
export type ComposeField = 'to' | 'cc' | 'bcc' | 'subject' | 'text' | 'files';

export const COMPOSE_MODES: readonly ComposeMode[] = ['new', 'reply', 'reply-all', 'forward'];

/** The form's fields (as saved with a draft) and the draft's one-time id (double-submit guard). */
export interface ComposeValues extends DraftFields {
  draftId: string;
}

export interface StoredAttachmentChoice {
  index: number;
  filename: string;
  contentType: string;
  size: number;
  checked: boolean;
}

/** A file uploaded for this draft; sent when checked. */
export interface UploadedFileChoice {
  id: string;
  filename: string;
  size: number;
  checked: boolean;
}

export interface ComposeViewProps {
  t: Translate;
  lang: string;
  csrfToken: string;
  mode: ComposeMode;
  from: string;
  values: ComposeValues;
  stored: StoredAttachmentChoice[];
  uploads: UploadedFileChoice[];
  errors: Partial<Record<ComposeField, string>>;
  /** A problem that belongs to no one field (sending failed, damaged reply data). */
  formError: string | null;
  notice: NoticeKey | null;
  maxAttachmentMb: number;
}

export const COMPOSE_TITLES = {
  new: 'compose.title.new',
  reply: 'compose.title.reply',
  'reply-all': 'compose.title.replyAll',
  forward: 'compose.title.forward',
} as const;

const FIELD_ORDER: ComposeField[] = ['to', 'cc', 'bcc', 'subject', 'text', 'files'];

export function ComposeView(props: ComposeViewProps) {
  const { t, values, errors } = props;
  const fieldErrors = FIELD_ORDER.filter((field) => errors[field] !== undefined);
  const hasErrors = fieldErrors.length > 0 || props.formError !== null;
  const describedBy = (field: ComposeField, hint?: string) =>
    [hint, errors[field] ? `${field}-error` : undefined].filter(Boolean).join(' ') || undefined;
  const invalid = (field: ComposeField) => (errors[field] ? 'true' : undefined);
  const error = (field: ComposeField) =>
    errors[field] ? (
      <p class="field-error" id={`${field}-error`}>
        {errors[field]}
      </p>
    ) : null;
  const labels: Record<ComposeField, string> = {
    to: t('compose.to'),
    cc: t('compose.cc'),
    bcc: t('compose.bcc'),
    subject: t('compose.subject'),
    text: t('compose.text'),
    files: t('compose.uploads'),
  };
  // The address fields: one way of typing addresses; a field shows its hint (cc shares to's) and its error.
  const addressField = (field: 'to' | 'cc' | 'bcc', hintId: string, hint?: string) => (
    <>
      <label for={field}>{labels[field]}</label>
      {hint === undefined ? null : (
        <p class="hint" id={hintId}>
          {hint}
        </p>
      )}
      {error(field)}
      <input
        id={field}
        name={field}
        type="text"
        inputmode="email"
        autocomplete="off"
        spellcheck={false}
        value={values[field]}
        aria-invalid={invalid(field)}
        aria-describedby={describedBy(field, hintId)}
      />
    </>
  );
  const cancel = values.originalId ? messagePath(values.originalId) : MAIL_PATH;
  return (
    <>
      <h1>{t(COMPOSE_TITLES[props.mode])}</h1>
      <Notice t={t} notice={props.notice} />
      {hasErrors ? (
        <div class="error-summary" role="alert" aria-labelledby="error-summary-title">
          <h2 id="error-summary-title">{t('compose.errors.title')}</h2>
          <ul>
            {props.formError ? <li>{props.formError}</li> : null}
            {fieldErrors.map((field) => (
              <li>
                <a href={`#${field}`}>{`${labels[field]}: ${errors[field]}`}</a>
              </li>
            ))}
          </ul>
        </div>
      ) : null}
      <form class="compose" method="post" action={`${MAIL_PATH}/send`} enctype="multipart/form-data">
        <input type="hidden" name="_csrf" value={props.csrfToken} />
        <input type="hidden" name="draftId" value={values.draftId} />
        <input type="hidden" name="mode" value={props.mode} />
        <input type="hidden" name="originalId" value={values.originalId} />
        <input type="hidden" name="inReplyTo" value={values.inReplyTo} />
        <input type="hidden" name="references" value={values.references} />

        <p class="from-line">
          <span class="label">{t('compose.from')}</span> {props.from}
        </p>

        {addressField('to', 'to-hint', t('compose.addressHint'))}

        {addressField('cc', 'to-hint')}

        {addressField('bcc', 'bcc-hint', t('compose.bccHint'))}

        <label for="subject">{labels.subject}</label>
        {error('subject')}
        <input
          id="subject"
          name="subject"
          type="text"
          maxlength={998}
          value={values.subject}
          aria-invalid={invalid('subject')}
          aria-describedby={describedBy('subject')}
        />

        <label for="text">{labels.text}</label>
        {error('text')}
        <textarea id="text" name="text" rows={16} aria-invalid={invalid('text')} aria-describedby={describedBy('text')}>
          {/* The parser drops one newline right after <textarea>: this one, not the text's own. */}
          {`\n${values.text}`}
        </textarea>

        {props.stored.length > 0 ? (
          <fieldset>
            <legend>{t('compose.forwarded')}</legend>
            {props.stored.map((attachment) => (
              <label class="checkbox" for={`keep-${attachment.index}`}>
                <input
                  type="checkbox"
                  id={`keep-${attachment.index}`}
                  name="keep"
                  value={String(attachment.index)}
                  checked={attachment.checked}
                />
                <span>
                  {attachment.filename}{' '}
                  <span class="hint">{`(${attachment.contentType}, ${formatSize(t, attachment.size, props.lang)})`}</span>
                </span>
              </label>
            ))}
          </fieldset>
        ) : null}

        <fieldset id="files" tabindex={-1} aria-describedby={describedBy('files', 'files-hint')}>
          <legend>{labels.files}</legend>
          {error('files')}
          {props.uploads.map((upload) => (
            <label class="checkbox" for={`upload-${upload.id}`}>
              <input type="checkbox" id={`upload-${upload.id}`} name="upload" value={upload.id} checked={upload.checked} />
              <span>
                {upload.filename} <span class="hint">{`(${formatSize(t, upload.size, props.lang)})`}</span>
              </span>
            </label>
          ))}
          <p class="hint" id="files-hint">
            {props.uploads.length > 0 ? `${t('compose.uploadsHint')} ` : ''}
            {t('compose.attachHint', { mb: props.maxAttachmentMb })}
          </p>
        </fieldset>

        <div class="actions">
          <button type="submit" name="action" value="send">
            {t('compose.send')}
          </button>
          {/* After Send in the tree: Enter in a field submits with the first button. */}
          <button type="submit" name="action" value="attach" class="secondary">
            {t('compose.attach')}
          </button>
          <a href={cancel}>{t('compose.cancel')}</a>
        </div>
      </form>
    </>
  );
}

// The message page: headers, the actions (reply, reply all, forward as links; mark
// unread, delete or restore as CSRF-protected forms), the remote-content switch, the
// body in a sandboxed frame of its own (web/message-frame.ts), and the attachments
// as download links. Nothing of the message's HTML is ever put into this page.
import type { Child } from 'hono/jsx';
import type { AuthenticationWarning, MailboxEntry } from '../../../lambdas/core/model.ts';
import type { RenderedAttachment, RenderedMessage } from '../../../lambdas/ports/message-renderer.ts';
import { formatDateTime, type Lang, type Translate } from '../../i18n/index.ts';
import { frameHeight, MESSAGE_FRAME_REFERRER_POLICY, MESSAGE_FRAME_SANDBOX } from '../../message-frame.ts';
import { FOLDER_NAMES, FOLDER_PATHS, formatSize, messagePath } from './common.tsx';

/** One action on the message: a CSRF-protected POST form that is a single button. */
function ActionButton(props: { action: string; csrf: Child; class: string; label: string; describedBy?: string }): Child {
  return (
    <form method="post" action={props.action}>
      {props.csrf}
      <button type="submit" class={props.class} aria-describedby={props.describedBy}>
        {props.label}
      </button>
    </form>
  );
}

/** Why the sender may not be who the message claims (core/authentication.ts), announced at once (role="alert"). */
function AuthenticationAlert(props: { t: Translate; warnings: AuthenticationWarning[] }): Child {
  const { t, warnings } = props;
  if (warnings.length === 0) return null;
  return (
    <div class="notice warning authentication" role="alert">
      <p>
        <strong>{t('mail.message.auth.heading')}</strong>
      </p>
      <ul>
        {warnings.map((warning) => (
          <li>{t(`mail.message.auth.${warning}`)}</li>
        ))}
      </ul>
      <p>{t('mail.message.auth.advice')}</p>
    </div>
  );
}

/** What the page shows of a message: the rendered one, or the index entry when the body cannot be read. */
export interface MessageViewProps {
  t: Translate;
  lang: Lang;
  timeZone: string;
  csrfToken: string;
  entry: MailboxEntry;
  rendered: RenderedMessage | null;
  /** Why there is no rendered message. */
  problem: 'unreadable' | 'unavailable' | null;
  allowRemote: boolean;
}

/** Attachments the reader can download: inline parts that belong to the HTML (cid:) are shown in it instead. */
export function listedAttachments(rendered: RenderedMessage | null): RenderedAttachment[] {
  return (rendered?.attachments ?? []).filter((attachment) => !(attachment.inline && attachment.contentId));
}

export function MessageView(props: MessageViewProps) {
  const { t, entry, rendered } = props;
  const id = entry.sesMessageId;
  const from = rendered?.from ?? entry.from;
  const to = rendered?.to ?? entry.to;
  const cc = rendered?.cc ?? entry.cc;
  // The arrival, as the list shows it; the sender's Date header beside it only when it says another time.
  const received = formatDateTime(entry.receivedAt, props.lang, props.timeZone);
  const headerDate = rendered?.date ?? entry.date;
  const sent = headerDate ? formatDateTime(headerDate, props.lang, props.timeZone) : '';
  const subject = rendered?.subject ?? entry.subject;
  const attachments = listedAttachments(rendered);
  const fitted = rendered ? frameHeight(rendered) : null;
  const folderName = t(FOLDER_NAMES[entry.folder]);
  const csrf = <input type="hidden" name="_csrf" value={props.csrfToken} />;
  return (
    <article class="message" aria-labelledby="message-subject">
      <p class="back">
        <a href={FOLDER_PATHS[entry.folder]}>{t('mail.message.back', { folder: folderName })}</a>
      </p>
      <h1 id="message-subject">{subject || t('mail.list.noSubject')}</h1>
      <dl class="message-headers" aria-label={t('mail.message.headers')}>
        <dt>{t('mail.message.from')}</dt>
        <dd>{from.join(', ') || t('mail.list.unknownSender')}</dd>
        {to.length > 0 ? (
          <>
            <dt>{t('mail.message.to')}</dt>
            <dd>{to.join(', ')}</dd>
          </>
        ) : null}
        {cc.length > 0 ? (
          <>
            <dt>{t('mail.message.cc')}</dt>
            <dd>{cc.join(', ')}</dd>
          </>
        ) : null}
        <dt>{t('mail.message.received')}</dt>
        <dd>
          <time datetime={entry.receivedAt}>{received}</time>
        </dd>
        {headerDate && sent !== received ? (
          <>
            <dt>{t('mail.message.sentAt')}</dt>
            <dd>
              <time datetime={headerDate}>{sent}</time>
            </dd>
          </>
        ) : null}
      </dl>

      <div class="toolbar" role="group" aria-label={t('mail.message.actions')}>
        {rendered ? (
          <>
            <a class="button" href={messagePath(id, '/reply')}>
              {t('mail.message.reply')}
            </a>
            <a class="button secondary" href={messagePath(id, '/reply-all')}>
              {t('mail.message.replyAll')}
            </a>
            <a class="button secondary" href={messagePath(id, '/forward')}>
              {t('mail.message.forward')}
            </a>
          </>
        ) : null}
        <ActionButton action={messagePath(id, '/unread')} csrf={csrf} class="secondary" label={t('mail.message.markUnread')} />
        {entry.folder === 'deleted' ? (
          <ActionButton action={messagePath(id, '/restore')} csrf={csrf} class="secondary" label={t('mail.message.restore')} />
        ) : (
          <ActionButton
            action={messagePath(id, '/delete')}
            csrf={csrf}
            class="danger"
            describedBy="delete-note"
            label={t('mail.message.delete')}
          />
        )}
      </div>
      {entry.folder === 'deleted' ? null : (
        <p class="hint" id="delete-note">
          {t('mail.message.deleteNote')}
        </p>
      )}

      <AuthenticationAlert t={t} warnings={entry.authWarnings ?? []} />
      {entry.spamFlagged ? <p class="notice warning">{t('mail.message.spam')}</p> : null}
      {props.problem ? (
        <p class="notice warning">{t(props.problem === 'unreadable' ? 'mail.message.unreadable' : 'mail.message.unavailable')}</p>
      ) : null}
      {rendered?.truncated ? <p class="notice">{t('mail.message.truncated')}</p> : null}
      {rendered?.remoteContentBlocked ? (
        <p class="notice remote">
          {props.allowRemote ? t('mail.message.remoteShown') : t('mail.message.remoteBlocked')}{' '}
          <a href={props.allowRemote ? messagePath(id) : `${messagePath(id)}?remote=1`}>
            {props.allowRemote ? t('mail.message.hideRemote') : t('mail.message.showRemote')}
          </a>
        </p>
      ) : null}

      {props.problem === 'unavailable' ? null : (
        <iframe
          class={fitted === null ? 'message-frame' : 'message-frame fitted'}
          // A presentational height, not a style attribute: the page's CSP allows no inline style.
          height={fitted === null ? undefined : String(fitted)}
          title={t('mail.message.frameTitle')}
          src={messagePath(id, props.allowRemote ? '/body?remote=1' : '/body')}
          sandbox={MESSAGE_FRAME_SANDBOX}
          referrerpolicy={MESSAGE_FRAME_REFERRER_POLICY}
        />
      )}

      {attachments.length > 0 ? (
        <section class="attachments" aria-labelledby="attachments-heading">
          <h2 id="attachments-heading">{t('mail.message.attachments', { count: attachments.length })}</h2>
          <ul>
            {attachments.map((attachment) => (
              <li>
                <a href={messagePath(id, `/a/${attachment.index}`)} download={attachment.filename}>
                  {attachment.filename}
                </a>{' '}
                <span class="hint">
                  {t('mail.message.attachmentDetails', { type: attachment.contentType, size: formatSize(t, attachment.size, props.lang) })}
                </span>
              </li>
            ))}
          </ul>
        </section>
      ) : null}
    </article>
  );
}

// A folder page (Inbox, Sent, Deleted): search box, the messages newest first as one
// link per row (unread in bold with a hidden "Unread" for screen readers), cursor
// paging and the empty states. Quarantined mail never reaches this view.
import type { MailboxEntry } from '../../../lambdas/core/model.ts';
import type { Folder } from '../../../lambdas/ports/mailbox-entries.ts';
import { formatDateTime, type Lang, type Translate } from '../../i18n/index.ts';
import { displayName, FOLDER_NAMES, FOLDER_PATHS, messagePath, Notice, type NoticeKey } from './common.tsx';

export interface FolderViewProps {
  t: Translate;
  lang: Lang;
  timeZone: string;
  folder: Folder;
  email: string;
  mailbox: string;
  entries: MailboxEntry[];
  /** The cursor this page was asked with (null: the newest page). */
  cursor: string | null;
  nextCursor: string | null;
  search: string;
  notice: NoticeKey | null;
  /** The search or cursor could not be used (shown instead of the list). */
  invalidQuery: string | null;
}

function folderUrl(folder: Folder, params: { q?: string; cursor?: string | null }): string {
  const query = new URLSearchParams();
  if (params.q) query.set('q', params.q);
  if (params.cursor) query.set('cursor', params.cursor);
  const text = query.toString();
  return text === '' ? FOLDER_PATHS[folder] : `${FOLDER_PATHS[folder]}?${text}`;
}

export function FolderView(props: FolderViewProps) {
  const { t, folder } = props;
  const folderName = t(FOLDER_NAMES[folder]);
  return (
    <>
      <h1>{folderName}</h1>
      <p class="mailbox-line">
        {props.mailbox === props.email.toLowerCase()
          ? t('mail.mailboxLine', { email: props.email })
          : t('mail.mailboxLine.other', { email: props.email, mailbox: props.mailbox })}
      </p>
      <Notice t={t} notice={props.notice} />
      {folder === 'deleted' ? <p class="notice">{t('mail.deletedFolder.note')}</p> : null}
      <form class="search" method="get" action={FOLDER_PATHS[folder]} role="search">
        <label for="search-q">{t('mail.search.label')}</label>
        <input id="search-q" type="search" name="q" value={props.search} maxlength={200} autocomplete="off" />
        <button type="submit">{t('mail.search.button')}</button>
        {props.search ? (
          <a class="search-clear" href={FOLDER_PATHS[folder]}>
            {t('mail.search.clear')}
          </a>
        ) : null}
      </form>
      {props.invalidQuery !== null ? (
        <p class="notice warning" role="alert">
          {props.invalidQuery}
        </p>
      ) : (
        <MessageList {...props} folderName={folderName} />
      )}
    </>
  );
}

function MessageList(props: FolderViewProps & { folderName: string }) {
  const { t, folder, entries, search } = props;
  const heading = search ? <h2 id="list-heading">{t('mail.search.results', { query: search })}</h2> : null;
  if (entries.length === 0) {
    // A search page may come back empty yet carry a cursor: the store looked at a stretch
    // of the mailbox without a match and there is more to look at.
    const empty = props.nextCursor
      ? t('mail.list.empty.stretch', { query: search })
      : search
        ? t('mail.list.empty.search', { query: search })
        : t(`mail.list.empty.${folder}`);
    return (
      <>
        {heading}
        <p class="empty">{empty}</p>
        <Pager {...props} olderLabel={props.nextCursor ? t('mail.list.searchOlder') : t('mail.pages.older')} />
      </>
    );
  }
  return (
    <>
      {heading}
      <ul class="message-list" aria-label={t('mail.list.label', { folder: props.folderName })}>
        {entries.map((entry) => (
          <MessageRow entry={entry} {...props} />
        ))}
      </ul>
      <Pager {...props} olderLabel={t('mail.pages.older')} />
    </>
  );
}

function MessageRow(props: FolderViewProps & { entry: MailboxEntry }) {
  const { t, entry, folder } = props;
  const who =
    folder === 'sent'
      ? t('mail.list.to', { names: [...entry.to, ...entry.cc].map(displayName).join(', ') || '—' })
      : entry.from.map(displayName).join(', ') || t('mail.list.unknownSender');
  const hasAttachment = entry.attachments.some((attachment) => !(attachment.inline && attachment.contentId));
  return (
    <li class={entry.read ? undefined : 'unread'}>
      <a href={messagePath(entry.sesMessageId)}>
        <span class="from">
          {entry.read ? null : <span class="visually-hidden">{`${t('mail.list.unread')}: `}</span>}
          {who}
        </span>
        <span class="subject">
          {entry.subject || t('mail.list.noSubject')}
          {hasAttachment ? <span class="badge">{t('mail.list.attachment')}</span> : null}
          {entry.spamFlagged ? <span class="badge warning">{t('mail.list.spam')}</span> : null}
          {entry.authWarnings?.length ? <span class="badge warning unverified">{t('mail.list.unverified')}</span> : null}
        </span>
        <time class="date" datetime={entry.receivedAt}>
          {formatDateTime(entry.receivedAt, props.lang, props.timeZone)}
        </time>
        {entry.snippet ? <span class="snippet">{entry.snippet}</span> : null}
      </a>
    </li>
  );
}

function Pager(props: FolderViewProps & { olderLabel: string }) {
  const { t } = props;
  if (!props.cursor && !props.nextCursor) return null;
  return (
    <nav class="pager" aria-label={t('mail.pages.label')}>
      <ul>
        {props.cursor ? (
          <li>
            <a href={folderUrl(props.folder, { q: props.search })}>{t('mail.pages.newest')}</a>
          </li>
        ) : null}
        {props.nextCursor ? (
          <li>
            <a href={folderUrl(props.folder, { q: props.search, cursor: props.nextCursor })} rel="next">
              {props.olderLabel}
            </a>
          </li>
        ) : null}
      </ul>
    </nav>
  );
}

// Pieces every mailbox page shares: the folder navigation in the header, the one-line
// notices after an action (chosen by a fixed key in the URL, never free text), URLs of
// folders and messages, and small formatters for senders and sizes.
import type { Folder } from '../../../lambdas/ports/mailbox-entries.ts';
import type { MessageKey, Translate } from '../../i18n/index.ts';

export const MAIL_PATH = '/mail';

export const FOLDER_PATHS: Record<Folder, string> = {
  inbox: MAIL_PATH,
  sent: `${MAIL_PATH}/sent`,
  deleted: `${MAIL_PATH}/deleted`,
};

export const FOLDER_NAMES: Record<Folder, MessageKey> = {
  inbox: 'mail.folder.inbox',
  sent: 'mail.folder.sent',
  deleted: 'mail.folder.deleted',
};

export function messagePath(sesMessageId: string, rest = ''): string {
  return `${MAIL_PATH}/m/${encodeURIComponent(sesMessageId)}${rest}`;
}

/** The notices a redirect may ask for (`?done=<key>`); anything else shows nothing. */
export const NOTICES = {
  sent: 'mail.notice.sent',
  'sent-no-copy': 'mail.notice.sentNoCopy',
  'already-sent': 'mail.notice.alreadySent',
  deleted: 'mail.notice.deleted',
  restored: 'mail.notice.restored',
  unread: 'mail.notice.unread',
  attached: 'mail.notice.attached',
  'upload-missing': 'mail.notice.uploadMissing',
} as const satisfies Record<string, MessageKey>;

export type NoticeKey = keyof typeof NOTICES;

export function noticeFrom(value: string | undefined): NoticeKey | null {
  return value !== undefined && Object.hasOwn(NOTICES, value) ? (value as NoticeKey) : null;
}

/** The folders; for an admin also the way to the console (which links back here). */
export function FolderNav({ t, current, admin = false }: { t: Translate; current: Folder | 'compose' | null; admin?: boolean }) {
  const link = (href: string, label: string, active: boolean) => (
    <li>
      <a href={href} aria-current={active ? 'page' : undefined}>
        {label}
      </a>
    </li>
  );
  return (
    <ul class="folder-nav">
      {link(FOLDER_PATHS.inbox, t('mail.folder.inbox'), current === 'inbox')}
      {link(FOLDER_PATHS.sent, t('mail.folder.sent'), current === 'sent')}
      {link(FOLDER_PATHS.deleted, t('mail.folder.deleted'), current === 'deleted')}
      {link(`${MAIL_PATH}/compose`, t('mail.nav.compose'), current === 'compose')}
      {admin ? link('/admin', t('mail.nav.admin'), false) : null}
    </ul>
  );
}

/** The confirmation after a redirect; role=status so screen readers announce it. */
export function Notice({ t, notice }: { t: Translate; notice: NoticeKey | null }) {
  if (notice === null) return null;
  return (
    <div class="notice" role="status">
      <p>
        {t(NOTICES[notice])}
        {notice === 'deleted' ? (
          <>
            {' '}
            <a href={FOLDER_PATHS.deleted}>{t('mail.notice.openDeleted')}</a>
          </>
        ) : null}
      </p>
    </div>
  );
}

/** "Name <a@b>" → "Name"; "a@b" → "a@b"; quotes around a name are dropped. */
export function displayName(mailbox: string): string {
  const angle = /^\s*(.*?)\s*<([^<>]*)>\s*$/s.exec(mailbox);
  if (!angle) return mailbox.trim();
  const name = angle[1]!
    .replace(/^"(.*)"$/s, '$1')
    .replace(/\\(.)/g, '$1')
    .trim();
  return name || angle[2]!.trim();
}

export function formatSize(t: Translate, bytes: number, lang: string): string {
  if (!Number.isFinite(bytes) || bytes <= 0) return t('mail.size.unknown');
  const number = (n: number) => new Intl.NumberFormat(lang === 'de' ? 'de-DE' : 'en-GB', { maximumFractionDigits: 1 }).format(n);
  if (bytes < 1000) return t('mail.size.bytes', { n: number(bytes) });
  if (bytes < 1_000_000) return t('mail.size.kb', { n: number(Math.round(bytes / 100) / 10) });
  return t('mail.size.mb', { n: number(Math.round(bytes / 100_000) / 10) });
}

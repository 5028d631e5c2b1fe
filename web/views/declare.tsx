// The page a backlog alarm link opens: who the link is for, the backlog, the flag, and
// one form that switches failover on. The token travels in the form's body, never in a
// URL the page links to; nothing here loads from anywhere else (no Referer to leak).
import type { Context } from 'hono';
import type { OutageLink } from '../../lambdas/core/outage-link.ts';
import { OUTAGE_LINK_PARAMETER, OUTAGE_LINK_PATH } from '../../lambdas/core/outage-link.ts';
import type { FailoverState } from '../../lambdas/ports/failover-flag.ts';
import type { ForwardBacklogState } from '../../lambdas/ports/forward-backlog.ts';
import { formatDateTime } from '../i18n/index.ts';
import type { WebEnv } from '../middleware/context.ts';
import { messagePage, renderPage } from './layout.tsx';

export interface DeclareViewProps {
  token: string;
  link: OutageLink;
  flag: FailoverState | null;
  backlog: ForwardBacklogState | null;
  message?: string;
  error?: string;
}

export function declarePage(c: Context<WebEnv>, props: DeclareViewProps, status = 200): Promise<Response> {
  const t = c.get('t');
  const when = (date: Date | string) =>
    formatDateTime(typeof date === 'string' ? date : date.toISOString(), c.get('lang'), c.get('timeZone'));
  const { link, flag, backlog } = props;
  return renderPage(c, {
    title: t('declare.title'),
    status,
    narrow: true,
    body: (
      <section aria-labelledby="declare-heading">
        <h1 id="declare-heading">{t('declare.title')}</h1>
        <p id="declare-intro">{t('declare.intro', { time: when(link.alarmAt), admin: link.admin })}</p>
        <h2>{t('declare.backlog.heading')}</h2>
        {backlog ? (
          <p id="declare-backlog">
            {t('declare.backlog.count', { jobs: backlog.jobs })}{' '}
            {backlog.oldestAgeSeconds !== null ? t('declare.backlog.oldest', { minutes: Math.floor(backlog.oldestAgeSeconds / 60) }) : null}
          </p>
        ) : (
          <p id="declare-backlog">{t('declare.backlog.unknown')}</p>
        )}
        <h2>{t('declare.flag.heading')}</h2>
        <p id="declare-flag">
          {flag === null
            ? t('declare.flag.unknown')
            : flag.on
              ? t('declare.flag.on', { time: flag.since ? when(flag.since) : '?', actor: flag.changedBy ?? '?' })
              : t('declare.flag.off')}
        </p>
        {props.error ? (
          <p class="notice warning" role="alert">
            {props.error}
          </p>
        ) : null}
        <form method="post" action={OUTAGE_LINK_PATH}>
          <input type="hidden" name={OUTAGE_LINK_PARAMETER} value={props.token} />
          <p>
            <label for="declare-message">{t('declare.form.message')}</label>
            <textarea id="declare-message" name="message">
              {props.message ?? ''}
            </textarea>
          </p>
          <button type="submit">{t('declare.form.submit')}</button>
        </form>
        <p>{t('declare.form.note', { time: when(link.expiresAt) })}</p>
      </section>
    ),
  });
}

/** One answer for every refusal: forged, expired, used, admin removed — an attacker learns nothing from it. */
export function invalidLinkPage(c: Context<WebEnv>): Promise<Response> {
  const t = c.get('t');
  return messagePage(c, { title: t('declare.invalid.title'), text: t('declare.invalid.body'), status: 404 });
}

export function declaredPage(c: Context<WebEnv>): Promise<Response> {
  const t = c.get('t');
  return messagePage(c, {
    title: t('declare.done.title'),
    text: t('declare.done.body'),
    status: 200,
    link: { href: '/', label: t('declare.done.webmail') },
  });
}

// The status page: what every user sees while Exchange runs ("use Outlook"), and while
// the failover is on: since when, the admin's message, and the way in.
import type { Context } from 'hono';
import type { FailoverState } from '../../lambdas/ports/failover-flag.ts';
import type { Identity } from '../../lambdas/ports/sign-in.ts';
import { formatDateTime, type Lang, type Translate } from '../i18n/index.ts';
import type { WebEnv } from '../middleware/context.ts';
import { renderPage } from './layout.tsx';

export interface StatusViewProps {
  /** null: the flag could not be read. */
  state: FailoverState | null;
  t: Translate;
  lang: Lang;
  timeZone: string;
  identity: Identity | null;
}

export function StatusView({ state, t, lang, timeZone, identity }: StatusViewProps) {
  if (!state) {
    return (
      <section aria-labelledby="status-heading">
        <h1 id="status-heading">{t('status.unknown.heading')}</h1>
        <p class="notice warning">{t('status.unknown.body')}</p>
      </section>
    );
  }
  if (!state.on) {
    return (
      <section aria-labelledby="status-heading">
        <h1 id="status-heading">{t('status.normal.heading')}</h1>
        <p class="notice status-normal">{t('status.normal.body')}</p>
        <p>{t('status.normal.detail')}</p>
      </section>
    );
  }
  return (
    <section aria-labelledby="status-heading">
      <h1 id="status-heading">{t('status.failover.heading')}</h1>
      <p>{t('status.failover.body')}</p>
      {state.since ? (
        <p>
          <time datetime={state.since}>{t('status.failover.since', { time: formatDateTime(state.since, lang, timeZone) })}</time>
        </p>
      ) : null}
      {state.message ? (
        <div class="notice">
          <h2>{t('status.failover.message')}</h2>
          <p class="admin-message">{state.message}</p>
        </div>
      ) : null}
      <p>
        {identity ? (
          <a class="button" href="/mail">
            {t('status.failover.continue')}
          </a>
        ) : (
          <a class="button" href="/auth/login">
            {t('status.failover.signIn')}
          </a>
        )}
      </p>
    </section>
  );
}

/** The status page in the layout, for the request's language (and user, if past the gate). */
export function statusPage(c: Context<WebEnv>, state: FailoverState | null, status: number): Promise<Response> {
  const t = c.get('t');
  return renderPage(c, {
    title: t('status.title'),
    status,
    narrow: true,
    body: <StatusView state={state} t={t} lang={c.get('lang')} timeZone={c.get('timeZone')} identity={c.get('identity')} />,
  });
}

// The page frame every HTML page shares: language, skip link, header with the signed-in
// user and sign-out, main landmark, footer. No script anywhere: the CSP forbids it.
import type { Context } from 'hono';
import type { Child } from 'hono/jsx';
import type { Identity } from '../../lambdas/ports/sign-in.ts';
import type { Lang, Translate } from '../i18n/index.ts';
import type { WebEnv } from '../middleware/context.ts';
import { STYLESHEET_PATH } from './styles.ts';

export interface LayoutProps {
  lang: Lang;
  t: Translate;
  title: string;
  identity: Identity | null;
  csrfToken: string | null;
  /** Extra navigation in the header (the mailbox pages' folder links). */
  nav?: Child;
  /** A narrow reading column (status and error pages). */
  narrow?: boolean;
  /** Reload the page after this many seconds (a running job's page); the CSP allows no script, a meta refresh needs none. */
  refreshSeconds?: number;
  /** Where the reload goes (same origin, a path); default: the page itself. */
  refreshUrl?: string;
  /** The page reloads itself by script: the meta refresh only for browsers without script (<noscript>). */
  refreshWithoutScriptOnly?: boolean;
  children?: Child;
}

export function Layout(props: LayoutProps) {
  const { t } = props;
  return (
    <html lang={props.lang}>
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="robots" content="noindex, nofollow" />
        {props.refreshSeconds ? (
          props.refreshWithoutScriptOnly ? (
            <noscript>
              <meta http-equiv="refresh" content={refreshContent(props.refreshSeconds, props.refreshUrl)} />
            </noscript>
          ) : (
            <meta http-equiv="refresh" content={refreshContent(props.refreshSeconds, props.refreshUrl)} />
          )
        ) : null}
        <title>{`${props.title} – ${t('app.name')}`}</title>
        <link rel="stylesheet" href={STYLESHEET_PATH} />
      </head>
      <body>
        <a class="skip-link" href="#main">
          {t('layout.skipToContent')}
        </a>
        <header class="site-header">
          <a class="brand" href="/">
            {t('app.name')}
            <small>{t('app.tagline')}</small>
          </a>
          {props.nav ? <nav aria-label={t('layout.mainNavigation')}>{props.nav}</nav> : null}
          {props.identity && props.csrfToken ? (
            <div class="account">
              <span>{t('layout.signedInAs', { name: props.identity.name })}</span>
              <form method="post" action="/auth/logout">
                <input type="hidden" name="_csrf" value={props.csrfToken} />
                <button type="submit" class="secondary">
                  {t('layout.signOut')}
                </button>
              </form>
            </div>
          ) : null}
        </header>
        <main id="main" tabindex={-1} class={props.narrow ? 'narrow' : undefined}>
          {props.children}
        </main>
        <footer class="site-footer">{t('layout.footer')}</footer>
      </body>
    </html>
  );
}

const refreshContent = (seconds: number, url: string | undefined): string => (url ? `${seconds};url=${url}` : String(seconds));

export interface PageOptions {
  title: string;
  body: Child;
  status?: number;
  nav?: Child;
  narrow?: boolean;
  /** See LayoutProps.refreshSeconds and refreshUrl. */
  refreshSeconds?: number;
  refreshUrl?: string;
  refreshWithoutScriptOnly?: boolean;
}

/** Renders `body` inside the layout for the request's language and user. */
export async function renderPage(c: Context<WebEnv>, options: PageOptions): Promise<Response> {
  const page = (
    <Layout
      lang={c.get('lang')}
      t={c.get('t')}
      title={options.title}
      identity={c.get('identity') ?? null}
      csrfToken={c.get('csrfToken') ?? null}
      nav={options.nav}
      narrow={options.narrow ?? false}
      {...(options.refreshSeconds !== undefined && { refreshSeconds: options.refreshSeconds })}
      {...(options.refreshUrl !== undefined && { refreshUrl: options.refreshUrl })}
      {...(options.refreshWithoutScriptOnly && { refreshWithoutScriptOnly: true })}
    >
      {options.body}
    </Layout>
  );
  const html = `<!doctype html>${await page.toString()}`;
  return c.html(html, (options.status ?? 200) as 200);
}

/** A short page with a heading, a paragraph and a link home (errors, refusals). */
export function messagePage(
  c: Context<WebEnv>,
  options: { title: string; text: string; status: number; link?: { href: string; label: string } },
): Promise<Response> {
  const t = c.get('t');
  const link = options.link ?? { href: '/', label: t('error.backHome') };
  return renderPage(c, {
    title: options.title,
    status: options.status,
    narrow: true,
    body: (
      <>
        <h1>{options.title}</h1>
        <p>{options.text}</p>
        <p>
          <a href={link.href}>{link.label}</a>
        </p>
      </>
    ),
  });
}

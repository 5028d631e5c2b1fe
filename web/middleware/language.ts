// Picks the page language from Accept-Language and puts t() on the context; also sets
// the per-request defaults every later step relies on (nobody signed in yet).
import type { MiddlewareHandler } from 'hono';
import { type Lang, pickLanguage, translator } from '../i18n/index.ts';
import type { WebEnv } from './context.ts';

export function language(options: { timeZone: string; fallback?: Lang }): MiddlewareHandler<WebEnv> {
  return async (c, next) => {
    const lang = pickLanguage(c.req.header('accept-language'), options.fallback);
    c.set('lang', lang);
    c.set('t', translator(lang));
    c.set('timeZone', options.timeZone);
    c.set('session', null);
    c.set('identity', null);
    c.set('csrfToken', null);
    c.set('isAdmin', false);
    await next();
    c.res.headers.append('Vary', 'Accept-Language, Cookie');
  };
}

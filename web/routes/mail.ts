// The mailbox pages, mounted at /mail behind the failover gate and sign-in:
//   GET  /mail, /mail/sent, /mail/deleted     folder pages (?q= search, ?cursor= paging, ?done= notice)
//   GET  /mail/m/:id                          message page (marks it read; ?remote=1 shows remote images)
//   GET  /mail/m/:id/body, /mail/m/:id/a/:n   frame document, attachment (mail-content.ts)
//   GET  /mail/compose, /mail/m/:id/reply|reply-all|forward; POST /mail/send (mail-compose.ts)
//   POST /mail/m/:id/unread|delete|restore    flags and folders, then back to a folder page
// and the inline images of the message frame at /inline (signed URLs, no session).
// Every route that names a message runs the use cases' mailbox check (openEntry, via
// the use case itself for the actions): another mailbox's id is a 404 like an unknown one.
import { type Context, Hono } from 'hono';
import { InvalidInputError } from '../../lambdas/core/errors.ts';
import {
  listFolder,
  MAX_SEARCH_CHARS,
  markRead,
  markUnread,
  moveToDeleted,
  openEntry,
  restoreToInbox,
} from '../../lambdas/core/mailbox.ts';
import type { Folder } from '../../lambdas/ports/mailbox-entries.ts';
import type { UserRouteGroup } from '../app.ts';
import { csrfTokenOf, identityOf, type WebEnv } from '../middleware/context.ts';
import { renderPage } from '../views/layout.tsx';
import { FOLDER_NAMES, FOLDER_PATHS, FolderNav, MAIL_PATH, noticeFrom } from '../views/mail/common.tsx';
import { FolderView } from '../views/mail/folder.tsx';
import { MessageView } from '../views/mail/message.tsx';
import { composeRoutes } from './mail-compose.ts';
import { inlineImageRoutes, messageContentRoutes } from './mail-content.ts';
import { INLINE_PATH, InlineImageSigner, type MailRouteDeps, NO_INLINE_IMAGES, renderStored } from './mail-deps.ts';

export type { MailRouteDeps };

/** Both route groups, ready for WebmailDeps.userRoutes. */
export function mailRouteGroups(deps: MailRouteDeps): UserRouteGroup[] {
  const signer = new InlineImageSigner(deps.signingSecret, deps.clock, deps.inlineUrlSeconds);
  return [
    { path: MAIL_PATH, routes: mailRoutes(deps, signer) },
    { path: INLINE_PATH, routes: inlineImageRoutes(deps, signer), selfAuthorized: true },
  ];
}

export function mailRoutes(deps: MailRouteDeps, signer: InlineImageSigner): Hono<WebEnv> {
  const routes = new Hono<WebEnv>();
  const pageSize = deps.pageSize ?? 50;

  const folderPage = async (c: Context<WebEnv>, folder: Folder) => {
    const identity = identityOf(c);
    const t = c.get('t');
    const search = (c.req.query('q') ?? '').trim();
    const cursor = c.req.query('cursor') || null;
    let page: Awaited<ReturnType<typeof listFolder>> | null = null;
    let invalidQuery: string | null = null;
    try {
      page = await listFolder(identity, { folder, cursor, limit: pageSize, ...(search !== '' && { search }) }, deps);
    } catch (error) {
      // A cursor we did not issue, or a search term that is too long: say so, list nothing.
      if (!(error instanceof InvalidInputError)) throw error;
      invalidQuery = t('mail.search.invalid', { max: MAX_SEARCH_CHARS });
    }
    const [mailbox = identity.email] = page?.mailboxes ?? [];
    return renderPage(c, {
      title: t(FOLDER_NAMES[folder]),
      status: invalidQuery === null ? 200 : 400,
      nav: FolderNav({ t, current: folder, admin: c.get('isAdmin') }),
      body: FolderView({
        t,
        lang: c.get('lang'),
        timeZone: c.get('timeZone'),
        folder,
        email: identity.email,
        mailbox: page?.mailbox ?? mailbox,
        entries: page?.entries ?? [],
        cursor,
        nextCursor: page?.nextCursor ?? null,
        search: search.slice(0, MAX_SEARCH_CHARS * 2),
        notice: noticeFrom(c.req.query('done')),
        invalidQuery,
      }),
    });
  };
  routes.get('/', (c) => folderPage(c, 'inbox'));
  routes.get('/sent', (c) => folderPage(c, 'sent'));
  routes.get('/deleted', (c) => folderPage(c, 'deleted'));

  routes.get('/m/:id', async (c) => {
    const identity = identityOf(c);
    const t = c.get('t');
    const opened = await openEntry(identity, c.req.param('id'), deps);
    // Rendered here for the headers, the attachment list and whether anything remote was
    // blocked; the frame's own request renders the body it shows.
    const { rendered, problem } = await renderStored(deps, opened.record, NO_INLINE_IMAGES);
    if (!opened.entry.read) await markRead(identity, opened.entry.sesMessageId, deps);
    return renderPage(c, {
      title: rendered?.subject || opened.entry.subject || t('mail.list.noSubject'),
      nav: FolderNav({ t, current: opened.entry.folder, admin: c.get('isAdmin') }),
      body: MessageView({
        t,
        lang: c.get('lang'),
        timeZone: c.get('timeZone'),
        csrfToken: csrfTokenOf(c),
        entry: opened.entry,
        rendered,
        problem,
        allowRemote: c.req.query('remote') === '1',
      }),
    });
  });

  routes.route('/m', messageContentRoutes(deps, signer));

  routes.post('/m/:id/unread', async (c) => {
    const identity = identityOf(c);
    const { entry } = await openEntry(identity, c.req.param('id'), deps);
    await markUnread(identity, entry.sesMessageId, deps);
    return c.redirect(`${FOLDER_PATHS[entry.folder]}?done=unread`, 303);
  });

  routes.post('/m/:id/delete', async (c) => {
    const identity = identityOf(c);
    const { entry } = await openEntry(identity, c.req.param('id'), deps);
    await moveToDeleted(identity, entry.sesMessageId, deps);
    // Back where the message was, with the notice that Exchange still has it.
    return c.redirect(`${FOLDER_PATHS[entry.folder === 'deleted' ? 'inbox' : entry.folder]}?done=deleted`, 303);
  });

  routes.post('/m/:id/restore', async (c) => {
    const identity = identityOf(c);
    await restoreToInbox(identity, c.req.param('id'), deps);
    return c.redirect(`${FOLDER_PATHS.deleted}?done=restored`, 303);
  });

  routes.route('/', composeRoutes(deps));
  return routes;
}

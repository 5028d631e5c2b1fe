// The admin console, mounted at /admin (past the failover gate whatever the flag says,
// behind requireAdmin in app.ts):
//   GET  /admin                         the situation at a glance (core/console.ts), reloading itself every
//                                       CONSOLE_REFRESH_SECONDS unless stopped
//   GET  /admin/trace                   search form and results (audited as trace.search when a search ran)
//   GET  /admin/trace/:id               one message's trace; GET …/raw the stored .eml (audited; through a
//                                       presigned link when larger than a Lambda response carries)
//   POST /admin/trace/:id/resend        resend to the primary (all or chosen recipients) → job page
//   GET|POST /admin/resend              bulk resend (one mailbox or all, in a time range) → job page
//   GET  /admin/jobs, /admin/jobs/:id   resend jobs (reloading every 5 s while one runs); POST /admin/jobs/:id/cancel
//   GET|POST /admin/failover            the flag and the audited switch; with notices configured, a preview
//                                       of who the next switch would notify and a "notify staff" checkbox
//   GET  /admin/audit                   the audit log, filtered and paged (read only: no route changes it)
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { Hono } from 'hono';
import { html, raw } from 'hono/html';
import { audited, listAudit } from '../../lambdas/core/audit.ts';
import { type ConsoleDeps, readConsoleOverview } from '../../lambdas/core/console.ts';
import { InvalidInputError, ShadowmailError } from '../../lambdas/core/errors.ts';
import { switchFailover } from '../../lambdas/core/failover.ts';
import { MAX_WEB_BODY_BYTES } from '../../lambdas/core/payload-limits.ts';
import { type ReconcileReminderInput, reconcileCommandLine } from '../../lambdas/core/reconcile-reminder.ts';
import { cancelResend, getResendJob, isSettled, listResendJobs, type ResendStartDeps, startResend } from '../../lambdas/core/resend.ts';
import {
  type NoticeResult,
  type NoticeSettings,
  notifyStaff,
  planStaffNotices,
  type StaffNoticeDeps,
} from '../../lambdas/core/staff-notices.ts';
import { adminTraceSearch, openRawMessage, type TraceSearchInput, traceOne } from '../../lambdas/core/trace.ts';
import type { AuditLog } from '../../lambdas/ports/audit-log.ts';
import type { Clock } from '../../lambdas/ports/clock.ts';
import type { DeliveryLog } from '../../lambdas/ports/delivery-log.ts';
import type { DirectoryStore } from '../../lambdas/ports/directory.ts';
import type { DownloadLinks } from '../../lambdas/ports/download-links.ts';
import { FAILOVER_OFF, type FailoverFlag, type FailoverState } from '../../lambdas/ports/failover-flag.ts';
import type { ForwardBacklog } from '../../lambdas/ports/forward-backlog.ts';
import type { MessageRecords } from '../../lambdas/ports/message-records.ts';
import type { MessageSearch } from '../../lambdas/ports/message-search.ts';
import type { PendingRecipients } from '../../lambdas/ports/pending-recipients.ts';
import type { RawMailStore } from '../../lambdas/ports/raw-mail-store.ts';
import { timeFormat } from '../i18n/index.ts';
import { csrfTokenOf, identityOf, type WebContext, type WebEnv } from '../middleware/context.ts';
import { allowOnThisPage } from '../middleware/security.ts';
import { ConsoleView } from '../views/admin/console.tsx';
import {
  ADMIN_PATH,
  AdminNav,
  AuditView,
  BulkResendView,
  FailoverView,
  JobsView,
  JobView,
  type NoticePreview,
  RefreshControl,
  TraceDetailView,
  type TraceForm,
  TraceView,
} from '../views/admin/pages.tsx';
import { messagePage, renderPage } from '../views/layout.tsx';
import { CONSOLE_RELOAD, scriptHash } from '../views/scripts.ts';

export interface AdminDeps {
  index: MessageRecords & DeliveryLog & MessageSearch & Pick<PendingRecipients, 'countPendingRecipients'>;
  rawStore: RawMailStore;
  audit: AuditLog;
  clock: Clock;
  resend: ResendStartDeps;
  /** The flag store itself (not the cache the gate reads): the switch writes here. */
  flag: FailoverFlag;
  /** Presigned downloads (AWS): a raw message can be 40 MB, a Lambda response at most 6 MB. Null: streamed here. */
  downloadLinks?: DownloadLinks | null;
  /** Failover notices to staff (core/staff-notices.ts); absent or null: the page offers none. */
  notices?: AdminNotices | null;
  /** The first page's backlog, dead-letter queues and directory (core/console.ts); each absent: not shown. */
  backlog?: ForwardBacklog | null;
  deadLetters?: ConsoleDeps['deadLetters'];
  directory?: Pick<DirectoryStore, 'readState'> | null;
  /** What the reconcile reminder names as target (`--stack` in AWS, `--data-dir` locally); absent: none. */
  reconcileTarget?: ReconcileReminderInput['target'];
}

export interface AdminNotices {
  settings: NoticeSettings;
  parts: Pick<StaffNoticeDeps, 'directory' | 'sms' | 'mailer'>;
}

/**
 * The longest round the page sends itself: the request must end before API Gateway's 30 s
 * (the function stops at 29 s). A longer one is refused before switching, pointing to the
 * CLI (`shadowmail failover on --notify --stack`), which has no such limit.
 */
export const ADMIN_NOTICE_BUDGET_SECONDS = 20;

/** Refuses everyone but admins: anonymous GETs go to sign-in, others get 403. Runs after the session middleware. */
export function requireAdmin() {
  return async (c: WebContext, next: () => Promise<void>): Promise<Response | void> => {
    const t = c.get('t');
    if (!c.get('identity')) {
      if (c.req.method === 'GET' || c.req.method === 'HEAD') {
        const url = new URL(c.req.url);
        return c.redirect(`/auth/login?returnTo=${encodeURIComponent(url.pathname + url.search)}`, 303);
      }
      return messagePage(c, { title: t('auth.signInRequired.title'), text: t('auth.signInRequired.body'), status: 401 });
    }
    if (!c.get('isAdmin')) return messagePage(c, { title: t('error.forbidden.title'), text: t('error.forbidden.body'), status: 403 });
    await next();
  };
}

const text = (value: unknown): string => (typeof value === 'string' ? value.trim() : '');

/** How often a page showing a job that still runs reloads itself. */
export const JOB_REFRESH_SECONDS = 5;
/** How often the first page reloads itself while open. */
export const CONSOLE_REFRESH_SECONDS = 30;
const CONSOLE_RELOAD_HASH = scriptHash(CONSOLE_RELOAD);

/** The backlog of the previous reload, carried in the refresh URL for the trend; anything else: none. */
function previousBacklog(value: string | undefined): number | null {
  return value !== undefined && /^\d{1,9}$/.test(value) ? Number(value) : null;
}

export function adminRoutes(deps: AdminDeps): Hono<WebEnv> {
  const routes = new Hono<WebEnv>();
  const page = (c: WebContext, title: string, body: unknown, status = 200, refreshSeconds?: number, scriptReload?: { url: string }) =>
    renderPage(c, {
      title,
      status,
      nav: AdminNav({ t: c.get('t'), mailbox: c.get('failover')?.on === true }),
      body: body as never,
      ...(refreshSeconds !== undefined && { refreshSeconds }),
      ...(scriptReload && { refreshUrl: scriptReload.url, refreshWithoutScriptOnly: true }),
    });
  const timesOf = (c: WebContext) => timeFormat(c.get('lang'), c.get('timeZone'), deps.clock.now());

  routes.get('/', async (c) => {
    const t = c.get('t');
    const overview = await readConsoleOverview(deps);
    const auto = c.req.query('refresh') !== 'off';
    const backlog = overview.backlog?.ok ? overview.backlog.value.jobs : null;
    const refreshUrl = backlog === null ? ADMIN_PATH : `${ADMIN_PATH}?${new URLSearchParams({ backlog: String(backlog) })}`;
    const reload = { url: refreshUrl, seconds: CONSOLE_REFRESH_SECONDS };
    const note = t('admin.overview.refreshing', { seconds: CONSOLE_REFRESH_SECONDS });
    const body = [
      RefreshControl({ t, auto, path: ADMIN_PATH, note, ...(auto && { reload }) }),
      ConsoleView({ t, times: timesOf(c), overview, previousBacklog: previousBacklog(c.req.query('backlog')) }),
      auto ? html`<script>${raw(CONSOLE_RELOAD)}</script>` : null,
    ];
    if (!auto) return page(c, t('admin.title'), body);
    // Reloaded by the script (allowed by its hash); the meta refresh only for browsers without script.
    allowOnThisPage(c, { scriptHashes: [CONSOLE_RELOAD_HASH] });
    return page(c, t('admin.title'), body, 200, CONSOLE_REFRESH_SECONDS, reload);
  });

  routes.get('/trace', async (c) => {
    const t = c.get('t');
    const q = (name: string) => text(c.req.query(name));
    const form: TraceForm = {
      recipient: q('recipient'),
      sender: q('sender'),
      messageId: q('messageId'),
      subject: q('subject'),
      since: q('since'),
      until: q('until'),
    };
    if (!c.req.query('search') && !c.req.query('cursor'))
      return page(c, t('admin.nav.trace'), TraceView({ t, times: timesOf(c), form, results: null, moreHref: null, error: null }));
    const input: TraceSearchInput = {
      ...(form.recipient && { recipient: form.recipient }),
      ...(form.sender && { sender: form.sender }),
      ...(form.messageId && { messageId: form.messageId }),
      ...(form.subject && { subject: form.subject }),
      ...(form.since && { since: form.since }),
      ...(form.until && { until: form.until }),
      cursor: c.req.query('cursor') ?? null,
    };
    try {
      const result = await adminTraceSearch(identityOf(c).email, input, deps);
      const more = result.nextCursor ? `/admin/trace?${new URLSearchParams({ ...form, search: '1', cursor: result.nextCursor })}` : null;
      return page(
        c,
        t('admin.nav.trace'),
        TraceView({ t, times: timesOf(c), form, results: result.messages, moreHref: more, error: null }),
      );
    } catch (error) {
      if (!(error instanceof InvalidInputError)) throw error;
      return page(
        c,
        t('admin.nav.trace'),
        TraceView({ t, times: timesOf(c), form, results: null, moreHref: null, error: error.message }),
        400,
      );
    }
  });

  routes.get('/trace/:id', async (c) => {
    const traced = await traceOne(c.req.param('id'), deps);
    return page(
      c,
      traced.message.summary.subject || traced.message.sesMessageId,
      TraceDetailView({ t: c.get('t'), times: timesOf(c), traced, csrf: csrfTokenOf(c) }),
    );
  });

  routes.get('/trace/:id/raw', async (c) => {
    const download = await openRawMessage(identityOf(c).email, c.req.param('id'), deps);
    if (download.size > MAX_WEB_BODY_BYTES && deps.downloadLinks) {
      const key = `raw-${download.filename.replace(/\.eml$/, '')}/${randomUUID()}`;
      const url = await deps.downloadLinks.link({
        key,
        filename: download.filename,
        contentType: 'message/rfc822',
        content: download.body,
      });
      if (url) return c.redirect(url.href, 302);
    }
    c.header('Content-Type', 'message/rfc822');
    c.header('Content-Length', String(download.size));
    c.header('Content-Disposition', `attachment; filename="${download.filename}"`);
    c.header('Cache-Control', 'no-store');
    return c.body(Readable.toWeb(download.body) as ReadableStream);
  });

  routes.post('/trace/:id/resend', async (c) => {
    const body = await c.req.parseBody({ all: true });
    const chosen = body.recipient;
    const recipients = (Array.isArray(chosen) ? chosen : chosen === undefined ? [] : [chosen]).map(text).filter((r) => r !== '');
    const job = await startResend(
      identityOf(c).email,
      {
        kind: 'message',
        sesMessageId: c.req.param('id'),
        ...(recipients.length > 0 && { recipients }),
      },
      deps.resend,
    );
    return c.redirect(`/admin/jobs/${encodeURIComponent(job.id)}`, 303);
  });

  routes.get('/resend', (c) =>
    page(c, c.get('t')('admin.nav.resend'), BulkResendView({ t: c.get('t'), csrf: csrfTokenOf(c), error: null })),
  );

  routes.post('/resend', async (c) => {
    const t = c.get('t');
    const body = await c.req.parseBody();
    const mailbox = text(body.mailbox);
    const all = text(body.all) === '1';
    const since = text(body.since);
    const until = text(body.until);
    try {
      if (all === (mailbox !== '')) throw new InvalidInputError('choose one mailbox or all mailboxes');
      const job = await startResend(
        identityOf(c).email,
        all ? { kind: 'all', since, until } : { kind: 'mailbox', mailbox, since, until },
        deps.resend,
      );
      return c.redirect(`/admin/jobs/${encodeURIComponent(job.id)}`, 303);
    } catch (error) {
      if (!(error instanceof InvalidInputError)) throw error;
      return page(c, t('admin.nav.resend'), BulkResendView({ t, csrf: csrfTokenOf(c), error: error.message }), 400);
    }
  });

  routes.get('/jobs', async (c) => {
    const result = await listResendJobs({ cursor: c.req.query('cursor') ?? null }, { jobs: deps.resend.jobs, clock: deps.clock });
    const more = result.nextCursor ? `/admin/jobs?${new URLSearchParams({ cursor: result.nextCursor })}` : null;
    const running = result.jobs.some((job) => !isSettled(job));
    const auto = running && c.req.query('refresh') !== 'off';
    const body = [
      running ? RefreshControl({ t: c.get('t'), auto, path: '/admin/jobs' }) : null,
      JobsView({ t: c.get('t'), times: timesOf(c), jobs: result.jobs, moreHref: more }),
    ];
    return page(c, c.get('t')('admin.nav.jobs'), body, 200, auto ? JOB_REFRESH_SECONDS : undefined);
  });

  routes.get('/jobs/:id', async (c) => {
    const job = await getResendJob(c.req.param('id'), { jobs: deps.resend.jobs, clock: deps.clock });
    const settled = isSettled(job);
    // Progress without script: the page reloads itself until the job is settled.
    const auto = !settled && c.req.query('refresh') !== 'off';
    const path = `/admin/jobs/${encodeURIComponent(job.id)}`;
    const body = [
      settled ? null : RefreshControl({ t: c.get('t'), auto, path }),
      JobView({ t: c.get('t'), job, settled, csrf: csrfTokenOf(c) }),
    ];
    return page(c, job.id, body, 200, auto ? JOB_REFRESH_SECONDS : undefined);
  });

  routes.post('/jobs/:id/cancel', async (c) => {
    const job = await cancelResend(identityOf(c).email, c.req.param('id'), {
      jobs: deps.resend.jobs,
      audit: deps.audit,
      clock: deps.clock,
    });
    return c.redirect(`/admin/jobs/${encodeURIComponent(job.id)}`, 303);
  });

  /** The dry run of what switching away from `state` would send (the current message goes along). */
  const noticePreview = async (state: FailoverState | null): Promise<NoticePreview> => {
    const notices = deps.notices;
    if (!notices || (!notices.settings.channels.sms && !notices.settings.channels.email)) return { kind: 'off' };
    const on = !state?.on;
    const projected: FailoverState = {
      ...FAILOVER_OFF,
      on,
      since: deps.clock.now().toISOString(),
      message: on ? (state?.message ?? '') : '',
    };
    try {
      return { kind: 'plan', plan: await planStaffNotices({ state: projected }, notices.settings, notices.parts) };
    } catch (error) {
      if (!(error instanceof ShadowmailError)) throw error;
      return { kind: 'error', message: error.message };
    }
  };
  const failoverPage = async (
    c: WebContext,
    error: string | null,
    status = 200,
    notified: NoticeResult | null = null,
    /** A failover just switched off: when it went on (the reconcile window). */
    endedFailoverSince?: string | null,
  ) => {
    const t = c.get('t');
    const state = await deps.flag.read().catch(() => null);
    const notices = await noticePreview(state);
    // While on, what to run after switching off; right after switching off, what to run now (issue 15).
    const since = state?.on ? state.since : endedFailoverSince;
    const reconcile = since === undefined ? null : reconcileCommandLine({ since, target: deps.reconcileTarget });
    const view = FailoverView({ t, times: timesOf(c), state, csrf: csrfTokenOf(c), error, notices, notified, reconcile });
    return page(c, t('admin.nav.failover'), view, status);
  };

  routes.get('/failover', (c) => failoverPage(c, null));

  routes.post('/failover', async (c) => {
    const body = await c.req.parseBody();
    const on = text(body.on) === '1';
    const message = typeof body.message === 'string' ? body.message : '';
    const reason = text(body.reason);
    const notify = text(body.notify) === '1';
    const actor = identityOf(c).email;
    try {
      if (reason === '') throw new InvalidInputError('a reason is required');
      const notices = notify ? await noticesFor(on, message) : null;
      const before = on ? null : await deps.flag.read().catch(() => null);
      const state = await audited(
        deps.audit,
        deps.clock,
        { actor, action: on ? 'failover.on' : 'failover.off', details: { reason, message } },
        () => switchFailover(deps.flag, { on, message, actor, reason }, deps.clock),
      );
      const ended = before?.on ? before.since : undefined;
      if (!notices) return ended === undefined ? c.redirect('/admin/failover', 303) : failoverPage(c, null, 200, null, ended);
      // An explicit ask: a round also when the flag was already on.
      const notified = await notifyStaff({ state, actor, repeat: 'again' }, notices.settings, {
        ...notices.parts,
        audit: deps.audit,
        clock: deps.clock,
      });
      return failoverPage(c, null, 200, notified, ended);
    } catch (error) {
      if (!(error instanceof InvalidInputError)) throw error;
      return failoverPage(c, error.message, 400);
    }
  });

  /** The notices a switch with "notify" will send, checked before the switch: configured, and short enough for a request. */
  const noticesFor = async (on: boolean, message: string): Promise<AdminNotices> => {
    const notices = deps.notices;
    if (!notices) throw new InvalidInputError('failover notices are off: set breakGlass.notices.sms and/or .email');
    const projected: FailoverState = { ...FAILOVER_OFF, on, since: deps.clock.now().toISOString(), message };
    const plan = await planStaffNotices({ state: projected }, notices.settings, notices.parts);
    if (plan.estimatedSeconds > ADMIN_NOTICE_BUDGET_SECONDS) {
      throw new InvalidInputError(
        `these ${plan.counts.sms} SMS and ${plan.counts.email} mails take about ${plan.estimatedSeconds} s at the provider's rate, longer than a web request may take: nothing was switched; switch without notifying here and run shadowmail failover on --notify --stack … from a computer`,
      );
    }
    return notices;
  };

  routes.get('/audit', async (c) => {
    const t = c.get('t');
    const q = (name: string) => text(c.req.query(name));
    const form = { actor: q('actor'), action: q('action'), since: q('since'), until: q('until') };
    try {
      const result = await listAudit(
        {
          ...(form.actor && { actor: form.actor }),
          ...(form.action && { action: form.action }),
          ...(form.since && { since: form.since }),
          ...(form.until && { until: form.until }),
          cursor: c.req.query('cursor') ?? null,
          limit: 50,
        },
        deps,
      );
      const more = result.nextCursor ? `/admin/audit?${new URLSearchParams({ ...form, cursor: result.nextCursor })}` : null;
      return page(c, t('admin.nav.audit'), AuditView({ t, times: timesOf(c), form, events: result.events, moreHref: more, error: null }));
    } catch (error) {
      if (!(error instanceof InvalidInputError)) throw error;
      return page(
        c,
        t('admin.nav.audit'),
        AuditView({ t, times: timesOf(c), form, events: [], moreHref: null, error: error.message }),
        400,
      );
    }
  });

  return routes;
}

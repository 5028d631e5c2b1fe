// The admin console's views: trace search and detail, resend forms, jobs, the
// failover switch and the audit log. Plain forms and tables (no script, no inline style);
// pages of running jobs reload themselves (a meta refresh set by the route).
import type { Child } from 'hono/jsx';
import type { DeliveryState } from '../../../lambdas/core/model.ts';
import type { NoticePlan, NoticeResult } from '../../../lambdas/core/staff-notices.ts';
import type { TracedMessage } from '../../../lambdas/core/trace.ts';
import type { AuditEvent } from '../../../lambdas/ports/audit-log.ts';
import type { FailoverState } from '../../../lambdas/ports/failover-flag.ts';
import type { ResendJob } from '../../../lambdas/ports/resend-jobs.ts';
import type { TimeFormat, Translate } from '../../i18n/index.ts';
import { FailoverSummary } from './console.tsx';

export const ADMIN_PATH = '/admin';

/** The console's navigation; `mailbox` adds the way back to the admin's own inbox (while the webmail is open). */
export function AdminNav(props: { t: Translate; mailbox?: boolean }): Child {
  const { t } = props;
  return (
    <nav aria-label={t('admin.title')}>
      <ul>
        <li>
          <a href={ADMIN_PATH}>{t('admin.nav.overview')}</a>
        </li>
        <li>
          <a href="/admin/trace">{t('admin.nav.trace')}</a>
        </li>
        <li>
          <a href="/admin/resend">{t('admin.nav.resend')}</a>
        </li>
        <li>
          <a href="/admin/jobs">{t('admin.nav.jobs')}</a>
        </li>
        <li>
          <a href="/admin/failover">{t('admin.nav.failover')}</a>
        </li>
        <li>
          <a href="/admin/audit">{t('admin.nav.audit')}</a>
        </li>
        {props.mailbox && (
          <li>
            <a href="/mail">{t('admin.nav.mailbox')}</a>
          </li>
        )}
      </ul>
    </nav>
  );
}

function Csrf(props: { token: string }): Child {
  return <input type="hidden" name="_csrf" value={props.token} />;
}

/** The link to a list's next page, when there is one. */
function MoreLink(props: { t: Translate; href: string | null }): Child {
  return (
    props.href && (
      <p>
        <a href={props.href} rel="next">
          {props.t('admin.more')}
        </a>
      </p>
    )
  );
}

/** A labelled input of a form; its id is `<form>-<name>`. */
function Field(props: { form: string; name: string; label: string; type?: string; value?: string; required?: boolean }): Child {
  const id = `${props.form}-${props.name}`;
  return (
    <p>
      <label for={id}>{props.label}</label>
      <input id={id} name={props.name} type={props.type} value={props.value} required={props.required} />
    </p>
  );
}

export interface TraceForm {
  recipient: string;
  sender: string;
  messageId: string;
  subject: string;
  since: string;
  until: string;
}

export function TraceView(props: {
  t: Translate;
  times: TimeFormat;
  form: TraceForm;
  results: TracedMessage[] | null;
  moreHref: string | null;
  error: string | null;
}): Child {
  const { t, form } = props;
  const field = (name: keyof TraceForm, label: string) => <Field form="trace" name={name} label={label} type="text" value={form[name]} />;
  return (
    <>
      <h1>{t('admin.nav.trace')}</h1>
      <form method="get" action="/admin/trace">
        {field('recipient', t('admin.trace.recipient'))}
        {field('sender', t('admin.trace.sender'))}
        {field('messageId', t('admin.trace.messageId'))}
        {field('subject', t('admin.trace.subject'))}
        {field('since', t('admin.since'))}
        {field('until', t('admin.until'))}
        <input type="hidden" name="search" value="1" />
        <button type="submit">{t('admin.trace.search')}</button>
      </form>
      {props.error && <p role="alert">{props.error}</p>}
      {props.results && (
        <table id="trace-results">
          <thead>
            <tr>
              <th>{t('admin.received')}</th>
              <th>{t('admin.trace.sender')}</th>
              <th>{t('admin.trace.subject')}</th>
              <th>{t('admin.recipients')}</th>
            </tr>
          </thead>
          <tbody>
            {props.results.map(({ message, deliveries }) => (
              <tr>
                <td>
                  <a href={`/admin/trace/${encodeURIComponent(message.sesMessageId)}`}>
                    <time datetime={message.receivedAt}>{props.times.at(message.receivedAt)}</time>
                  </a>
                </td>
                <td>{message.envelopeFrom}</td>
                <td>{message.summary.subject}</td>
                <td>
                  {deliveries.map((d) => `${d.recipient}: ${d.state}${lastFault(d) ? ` (${t('admin.trace.faultShort')})` : ''}`).join(', ')}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <MoreLink t={t} href={props.moreHref} />
    </>
  );
}

export function TraceDetailView(props: { t: Translate; times: TimeFormat; traced: TracedMessage; csrf: string }): Child {
  const { t } = props;
  const { message, deliveries } = props.traced;
  const id = encodeURIComponent(message.sesMessageId);
  return (
    <>
      <h1>{message.summary.subject || message.sesMessageId}</h1>
      <dl>
        <dt>ID</dt>
        <dd>{message.sesMessageId}</dd>
        <dt>{t('admin.received')}</dt>
        <dd>
          <time datetime={message.receivedAt}>{props.times.at(message.receivedAt)}</time>
        </dd>
        <dt>{t('admin.trace.sender')}</dt>
        <dd>{message.envelopeFrom}</dd>
        <dt>{t('admin.trace.messageId')}</dt>
        <dd>{message.summary.messageIdHeader ?? ''}</dd>
        <dt>{t('admin.size')}</dt>
        <dd>{String(message.size)}</dd>
        <dt>{t('admin.verdicts')}</dt>
        <dd>{JSON.stringify(message.verdicts)}</dd>
      </dl>
      <p>
        <a id="raw-download" href={`/admin/trace/${id}/raw`}>
          {t('admin.trace.raw')}
        </a>
      </p>
      <h2>{t('admin.recipients')}</h2>
      {deliveries.map((d) => (
        <section>
          <h3>
            {d.recipient}: {d.state}
          </h3>
          <table>
            <tbody>
              {d.attempts.map((a) => (
                <tr>
                  <td>
                    <time datetime={a.at}>{props.times.at(a.at)}</time>
                  </td>
                  <td>{a.kind === 'report' ? '—' : String(a.code)}</td>
                  <td>
                    {a.response}
                    {a.configurationFault && <p>{t(`admin.trace.fault.${a.configurationFault}`)}</p>}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      ))}
      <form method="post" action={`/admin/trace/${id}/resend`}>
        <Csrf token={props.csrf} />
        <fieldset>
          <legend>{t('admin.resend.toPrimary')}</legend>
          {deliveries.map((d) => (
            <p>
              <label>
                <input type="checkbox" name="recipient" value={d.recipient} /> {d.recipient}
              </label>
            </p>
          ))}
          <p>{t('admin.resend.noneMeansAll')}</p>
        </fieldset>
        <button type="submit">{t('admin.resend.toPrimary')}</button>
      </form>
    </>
  );
}

/** The configuration fault of a recipient's latest attempt, if it had one. */
function lastFault(delivery: DeliveryState): string | undefined {
  return delivery.attempts.findLast((attempt) => attempt.kind !== 'report')?.configurationFault;
}

export function BulkResendView(props: { t: Translate; csrf: string; error: string | null }): Child {
  const { t } = props;
  return (
    <>
      <h1>{t('admin.nav.resend')}</h1>
      {props.error && <p role="alert">{props.error}</p>}
      <form method="post" action="/admin/resend">
        <Csrf token={props.csrf} />
        <Field form="resend" name="mailbox" label={t('admin.resend.mailbox')} type="text" />
        <p>
          <label>
            <input type="checkbox" name="all" value="1" /> {t('admin.resend.all')}
          </label>
        </p>
        <Field form="resend" name="since" label={t('admin.since')} type="text" required />
        <Field form="resend" name="until" label={t('admin.until')} type="text" required />
        <button type="submit">{t('admin.resend.start')}</button>
      </form>
    </>
  );
}

export function JobsView(props: { t: Translate; times: TimeFormat; jobs: ResendJob[]; moreHref: string | null }): Child {
  const { t } = props;
  return (
    <>
      <h1>{t('admin.nav.jobs')}</h1>
      <table id="jobs">
        <tbody>
          {props.jobs.map((job) => (
            <tr>
              <td>
                <a href={`/admin/jobs/${encodeURIComponent(job.id)}`}>{job.id}</a>
              </td>
              <td>{job.state}</td>
              <td>{`${job.counters.done}/${job.counters.total}${job.enumerated ? '' : '+'}`}</td>
              <td>{job.createdBy}</td>
              <td>
                <time datetime={job.createdAt}>{props.times.at(job.createdAt)}</time>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <MoreLink t={t} href={props.moreHref} />
    </>
  );
}

export function JobView(props: { t: Translate; job: ResendJob; settled: boolean; csrf: string }): Child {
  const { t, job } = props;
  return (
    <>
      <h1>{job.id}</h1>
      <p id="job-state">{job.state}</p>
      <dl id="job-counters">
        {Object.entries(job.counters).map(([name, value]) => (
          <>
            <dt>{name}</dt>
            <dd>{String(value)}</dd>
          </>
        ))}
      </dl>
      {!props.settled && (
        <form method="post" action={`/admin/jobs/${encodeURIComponent(job.id)}/cancel`}>
          <Csrf token={props.csrf} />
          <button type="submit">{t('admin.jobs.cancel')}</button>
        </form>
      )}
    </>
  );
}

/** What the failover page knows about notices: off, a preview of the next switch's round, or why there is none. */
export type NoticePreview = { kind: 'off' } | { kind: 'plan'; plan: NoticePlan } | { kind: 'error'; message: string };

export function FailoverView(props: {
  t: Translate;
  times: TimeFormat;
  state: FailoverState | null;
  csrf: string;
  error: string | null;
  notices?: NoticePreview;
  /** The round just sent by this switch. */
  notified?: NoticeResult | null;
  /** The `shadowmail reconcile` command line for the failover that is on (or was just switched off); null: none. */
  reconcile?: string | null;
}): Child {
  const { t, state, notices, notified } = props;
  return (
    <>
      <h1>{t('admin.nav.failover')}</h1>
      {notified && (
        <p id="failover-notified" role="status">
          {t('admin.failover.notified', {
            sms: notified.sent.sms,
            email: notified.sent.email,
            failed: notified.failed.sms + notified.failed.email,
            skipped: notified.skipped,
          })}
        </p>
      )}
      <FailoverSummary t={t} times={props.times} state={state} />
      {props.error && <p role="alert">{props.error}</p>}
      <form method="post" action="/admin/failover">
        <Csrf token={props.csrf} />
        <p>
          <label>
            <input type="radio" name="on" value="1" checked={!!state?.on} /> {t('admin.failover.on')}
          </label>
          <label>
            <input type="radio" name="on" value="0" checked={!state?.on} /> {t('admin.failover.off')}
          </label>
        </p>
        <p>
          <label for="failover-message">{t('admin.failover.message')}</label>
          <textarea id="failover-message" name="message">
            {state?.message ?? ''}
          </textarea>
        </p>
        <Field form="failover" name="reason" label={t('admin.failover.reason')} type="text" required />
        {notices?.kind === 'plan' && (
          <p>
            <label>
              <input type="checkbox" id="failover-notify" name="notify" value="1" /> {t('admin.failover.notify')}
            </label>
          </p>
        )}
        <button type="submit">{t('admin.failover.switch')}</button>
      </form>
      {props.reconcile && (
        <section id="failover-reconcile" aria-labelledby="failover-reconcile-heading">
          <h2 id="failover-reconcile-heading">{t(state?.on ? 'admin.failover.reconcile.before' : 'admin.failover.reconcile.now')}</h2>
          <p>{t('admin.failover.reconcile.body')}</p>
          <pre>
            <code>{props.reconcile}</code>
          </pre>
        </section>
      )}
      {notices && <NoticePreviewView t={t} preview={notices} />}
    </>
  );
}

/** Recipients the page lists (the counts cover all; the CLI's dry run lists every one). */
const PREVIEW_RECIPIENTS = 200;

/** The dry run of the notices the next switch would send: counts, the texts once, recipients masked. */
function NoticePreviewView(props: { t: Translate; preview: NoticePreview }): Child {
  const { t, preview } = props;
  if (preview.kind === 'off') return <p id="failover-notices-off">{t('admin.failover.notices.off')}</p>;
  if (preview.kind === 'error') return <p id="failover-notices-error">{t('admin.failover.preview.error', { error: preview.message })}</p>;
  const { plan } = preview;
  return (
    <section id="failover-notice-preview">
      <h2>{t('admin.failover.preview', { direction: plan.direction === 'on' ? t('admin.failover.on') : t('admin.failover.off') })}</h2>
      <p>{t('admin.failover.preview.counts', { sms: plan.counts.sms, email: plan.counts.email, skipped: plan.skipped })}</p>
      {plan.sms && (
        <>
          <h3>{t('admin.failover.preview.sms', { parts: plan.sms.parts })}</h3>
          <pre>{plan.sms.text}</pre>
        </>
      )}
      {plan.mail && (
        <>
          <h3>
            {t('admin.failover.preview.mail')}: {plan.mail.subject}
          </h3>
          <pre>{plan.mail.text}</pre>
        </>
      )}
      <details>
        <summary>
          {t('admin.failover.preview.recipients')} ({plan.recipients.length})
        </summary>
        <table id="failover-notice-recipients">
          <tbody>
            {plan.recipients.slice(0, PREVIEW_RECIPIENTS).map((r) => (
              <tr>
                <td>{r.mailbox}</td>
                <td>{r.sms ?? ''}</td>
                <td>{r.email ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {plan.recipients.length > PREVIEW_RECIPIENTS && <p>… {plan.recipients.length - PREVIEW_RECIPIENTS}</p>}
      </details>
    </section>
  );
}

export function AuditView(props: {
  t: Translate;
  times: TimeFormat;
  form: { actor: string; action: string; since: string; until: string };
  events: AuditEvent[];
  moreHref: string | null;
  error: string | null;
}): Child {
  const { t, form } = props;
  return (
    <>
      <h1>{t('admin.nav.audit')}</h1>
      <form method="get" action="/admin/audit">
        <Field form="audit" name="actor" label={t('admin.audit.actor')} value={form.actor} />
        <Field form="audit" name="action" label={t('admin.audit.action')} value={form.action} />
        <Field form="audit" name="since" label={t('admin.since')} value={form.since} />
        <Field form="audit" name="until" label={t('admin.until')} value={form.until} />
        <button type="submit">{t('admin.audit.filter')}</button>
      </form>
      {props.error && <p role="alert">{props.error}</p>}
      <table id="audit-events">
        <tbody>
          {props.events.map((e) => (
            <tr>
              <td>
                <time datetime={e.at}>{props.times.at(e.at)}</time>
              </td>
              <td>{e.actor}</td>
              <td>{e.action}</td>
              <td>{e.target ?? ''}</td>
              <td>{e.outcome}</td>
              <td>{JSON.stringify(e.details)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <MoreLink t={t} href={props.moreHref} />
    </>
  );
}

/**
 * Says that a running job's page reloads itself and offers to stop it (WCAG 2.2.1: a
 * time limit the user can turn off); `auto` false offers to turn it back on.
 */
export function RefreshControl(props: {
  t: Translate;
  auto: boolean;
  path: string;
  note?: string;
  /** For a page that reloads by script (scripts.ts CONSOLE_RELOAD): where to, and after how long. */
  reload?: { url: string; seconds: number };
}): Child {
  const { t } = props;
  return props.auto ? (
    <p
      class="refresh-note"
      id="refresh-note"
      data-refresh-url={props.reload?.url}
      data-refresh-seconds={props.reload ? String(props.reload.seconds) : undefined}
    >
      {props.note ?? t('admin.jobs.refreshing')} <a href={`${props.path}?refresh=off`}>{t('admin.jobs.stopRefresh')}</a>
    </p>
  ) : (
    <p class="refresh-note" id="refresh-note">
      <a href={props.path}>{t('admin.jobs.startRefresh')}</a>
    </p>
  );
}

// The admin console's first page (/admin): the situation at a glance — Exchange, the
// backlog, the dead-letter queues, the failover and who uses it, the directory, the
// last audit entries — read by core/console.ts. Plain HTML: it reloads itself with a
// meta refresh (no script), which the admin can stop (RefreshControl).
import type { Child } from 'hono/jsx';
import type { ConsoleOverview, Part } from '../../../lambdas/core/console.ts';
import type { DeliveryAttempt } from '../../../lambdas/core/model.ts';
import type { AuditEvent } from '../../../lambdas/ports/audit-log.ts';
import type { FailoverState } from '../../../lambdas/ports/failover-flag.ts';
import type { TimeFormat, Translate } from '../../i18n/index.ts';

export interface ConsoleViewProps {
  t: Translate;
  times: TimeFormat;
  overview: ConsoleOverview;
  /** The backlog at the previous reload (carried in the refresh URL), for the trend; null: none. */
  previousBacklog: number | null;
}

export function ConsoleView(props: ConsoleViewProps): Child {
  const { t, overview } = props;
  return (
    <>
      <h1>{t('admin.title')}</h1>
      <div class="console">
        <section id="console-exchange" aria-labelledby="console-exchange-heading">
          <h2 id="console-exchange-heading">{t('admin.exchange.heading')}</h2>
          <Exchange {...props} />
          <Backlog {...props} />
          {overview.deadLetters.length > 0 && (
            <>
              <h3>{t('admin.dlq.heading')}</h3>
              <dl id="console-dlq">
                {overview.deadLetters.map(({ name, depth }) => (
                  <>
                    <dt>{name}</dt>
                    <dd>
                      {depth.ok ? t('admin.dlq.depth', { waiting: depth.value.waiting, inFlight: depth.value.inFlight }) : unavailable(t)}
                    </dd>
                  </>
                ))}
              </dl>
            </>
          )}
        </section>
        <section id="console-failover" aria-labelledby="console-failover-heading">
          <h2 id="console-failover-heading">{t('admin.nav.failover')}</h2>
          {overview.failover.ok ? (
            <FailoverSummary t={t} times={props.times} state={overview.failover.value} />
          ) : (
            <p class="notice warning">{unavailable(t)}</p>
          )}
          <p>
            <a class="button" href="/admin/failover">
              {t('admin.overview.switch')}
            </a>
          </p>
          <h3>{t('admin.staff.heading')}</h3>
          <p id="console-staff">{signIns(t, overview)}</p>
        </section>
        {overview.directory && (
          <section id="console-directory" aria-labelledby="console-directory-heading">
            <h2 id="console-directory-heading">{t('admin.directory.heading')}</h2>
            {overview.directory.ok ? (
              <dl>
                <dt>{t('admin.directory.lastSync')}</dt>
                <dd>{lastSync(props, overview.directory.value.lastSync)}</dd>
                <dt>{t('admin.directory.users')}</dt>
                <dd>{String(overview.directory.value.users)}</dd>
                <dt>{t('admin.directory.disabled')}</dt>
                <dd>{String(overview.directory.value.disabled)}</dd>
              </dl>
            ) : (
              <p class="notice warning">{unavailable(t)}</p>
            )}
          </section>
        )}
        <section id="console-audit" aria-labelledby="console-audit-heading">
          <h2 id="console-audit-heading">{t('admin.audit.latest')}</h2>
          <LatestAudit {...props} entries={overview.latestAudit} />
          <p>
            <a href="/admin/audit">{t('admin.audit.all')}</a>
          </p>
        </section>
      </div>
      <nav aria-labelledby="console-links-heading">
        <h2 id="console-links-heading">{t('admin.overview.tools')}</h2>
        <ul>
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
            <a href="/admin/audit">{t('admin.nav.audit')}</a>
          </li>
        </ul>
      </nav>
    </>
  );
}

const unavailable = (t: Translate) => t('admin.unavailable');

function Exchange(props: ConsoleViewProps): Child {
  const { t, times } = props;
  const part = props.overview.exchange;
  if (!part.ok) return <p class="notice warning">{unavailable(t)}</p>;
  const state = part.value;
  const headline =
    state.answering === null
      ? t('admin.exchange.unknown', { hours: 24 })
      : state.answering
        ? t('admin.exchange.up')
        : t('admin.exchange.down');
  const attempt = (a: DeliveryAttempt) => (
    <>
      <time datetime={a.at}>{`${times.at(a.at)} (${times.ago(a.at)})`}</time>
      {`: ${a.code > 0 ? `${a.code} ` : ''}${a.response || t('admin.exchange.noReply')}`}
    </>
  );
  return (
    <>
      <p id="console-exchange-state" class={state.answering === false ? 'notice warning' : 'notice'}>
        {headline}
        {state.since && (
          <>
            {' '}
            <time datetime={state.since}>{t('admin.exchange.since', { time: times.at(state.since) })}</time>
          </>
        )}
      </p>
      <dl>
        <dt>{t('admin.exchange.lastAccepted')}</dt>
        <dd id="console-last-accepted">{state.lastAccepted ? attempt(state.lastAccepted) : t('admin.none')}</dd>
        {state.lastRefused && (
          <>
            <dt>{t('admin.exchange.lastRefused')}</dt>
            <dd id="console-last-refused">{attempt(state.lastRefused)}</dd>
          </>
        )}
        <dt>{t('admin.exchange.deferred')}</dt>
        <dd id="console-deferred">{String(state.deferred)}</dd>
        <dt>{t('admin.exchange.failed')}</dt>
        <dd id="console-failed">{String(state.failed)}</dd>
      </dl>
      <p class="hint">{t('admin.exchange.sample', { count: state.sampled, hours: 24 })}</p>
    </>
  );
}

function Backlog(props: ConsoleViewProps): Child {
  const { t, times } = props;
  const part = props.overview.backlog;
  if (!part) return null;
  return (
    <>
      <h3>{t('admin.backlog.heading')}</h3>
      {part.ok ? (
        <dl id="console-backlog">
          <dt>{t('admin.backlog.messages')}</dt>
          <dd>{String(part.value.jobs)}</dd>
          <dt>{t('admin.backlog.recipients')}</dt>
          <dd id="console-backlog-recipients">
            {props.overview.pendingRecipients.ok ? String(props.overview.pendingRecipients.value) : unavailable(t)}
          </dd>
          <dt>{t('admin.backlog.oldest')}</dt>
          <dd>
            {part.value.oldestAgeSeconds !== null
              ? times.duration(part.value.oldestAgeSeconds)
              : part.value.jobs === 0
                ? t('admin.none')
                : t('admin.backlog.ageUnknown')}
          </dd>
          {props.previousBacklog !== null && (
            <>
              <dt>{t('admin.backlog.trend')}</dt>
              <dd id="console-backlog-trend">{trend(t, props.previousBacklog, part.value.jobs)}</dd>
            </>
          )}
        </dl>
      ) : (
        <p class="notice warning">{unavailable(t)}</p>
      )}
    </>
  );
}

function trend(t: Translate, previous: number, now: number): string {
  if (now > previous) return t('admin.backlog.trend.up', { n: now - previous });
  if (now < previous) return t('admin.backlog.trend.down', { n: previous - now });
  return t('admin.backlog.trend.same');
}

function signIns(t: Translate, overview: ConsoleOverview): string {
  const part = overview.signIns;
  if (!part) return t('admin.staff.off');
  if (!part.ok) return unavailable(t);
  return t(part.value.more ? 'admin.staff.signedInAtLeast' : 'admin.staff.signedIn', { count: part.value.people });
}

function lastSync(props: ConsoleViewProps, event: AuditEvent | null): Child {
  const { t, times } = props;
  if (!event) return t('admin.directory.never');
  return (
    <>
      <time datetime={event.at}>{`${times.at(event.at)} (${times.ago(event.at)})`}</time>
      {event.outcome === 'ok' ? '' : ` — ${t('admin.directory.failed')}`}
    </>
  );
}

function LatestAudit(props: ConsoleViewProps & { entries: Part<AuditEvent[]> }): Child {
  const { t, times, entries } = props;
  if (!entries.ok) return <p class="notice warning">{unavailable(t)}</p>;
  if (entries.value.length === 0) return <p id="console-audit-empty">{t('admin.audit.none')}</p>;
  return (
    <table id="console-audit-entries">
      <thead>
        <tr>
          <th>{t('admin.audit.when')}</th>
          <th>{t('admin.audit.actor')}</th>
          <th>{t('admin.audit.action')}</th>
          <th>{t('admin.audit.target')}</th>
        </tr>
      </thead>
      <tbody>
        {entries.value.map((event) => (
          <tr>
            <td>
              <time datetime={event.at}>{times.at(event.at)}</time>
            </td>
            <td>{event.actor}</td>
            <td>{event.outcome === 'ok' ? event.action : `${event.action} (${event.outcome})`}</td>
            <td>{event.target ?? ''}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/**
 * The flag in words: on or off, since when, by whom, why, the message staff see; a field
 * that is empty is left out (no dangling separators). Shared with the failover page.
 */
export function FailoverSummary(props: { t: Translate; times: TimeFormat; state: FailoverState | null }): Child {
  const { t, times, state } = props;
  return (
    <>
      <p id="failover-state" class={state?.on ? 'notice warning' : 'notice'}>
        {state === null ? t('admin.failover.unknown') : state.on ? t('admin.failover.isOn') : t('admin.failover.isOff')}
      </p>
      {state && (state.since || state.changedBy || state.reason || (state.on && state.message)) && (
        <dl id="failover-details">
          {state.since && (
            <>
              <dt>{t('admin.failover.since')}</dt>
              <dd>
                <time datetime={state.since}>{`${times.at(state.since)} (${times.ago(state.since)})`}</time>
              </dd>
            </>
          )}
          {state.changedBy && (
            <>
              <dt>{t('admin.failover.by')}</dt>
              <dd>{state.changedBy}</dd>
            </>
          )}
          {state.reason && (
            <>
              <dt>{t('admin.failover.why')}</dt>
              <dd>{state.reason}</dd>
            </>
          )}
          {state.on && (
            <>
              <dt>{t('admin.failover.staffSee')}</dt>
              <dd class="admin-message">{state.message || t('admin.failover.noMessage')}</dd>
            </>
          )}
        </dl>
      )}
    </>
  );
}

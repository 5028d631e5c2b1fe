// The page a backlog alarm link opens: look (the link is checked, not used; link scanners
// of mail clients fetch links too) and declare (the link is used up and failover switched
// on, audited as the admin it was sent to). A link is refused — with one answer for every
// reason — when it was not issued by us, has expired, was used, or its admin is no
// longer configured. It grants nothing but this one switch: no session, no other page.
import { randomUUID } from 'node:crypto';
import { SINGLE_USE_PREFIX } from '../contract/message-table.ts';
import type { AuditLog } from '../ports/audit-log.ts';
import type { Clock } from '../ports/clock.ts';
import type { FailoverFlag, FailoverState } from '../ports/failover-flag.ts';
import type { ForwardBacklog, ForwardBacklogState } from '../ports/forward-backlog.ts';
import type { SingleUse } from '../ports/single-use.ts';
import { normalizeAddress } from './addresses.ts';
import { audited, recordAudit } from './audit.ts';
import { switchFailover } from './failover.ts';
import type { OutageLink, OutageLinkRefusal, OutageLinkSigner } from './outage-link.ts';

export const ALARM_LINK_REASON = 'backlog alarm link';

export type DeclareRefusal = OutageLinkRefusal | 'used' | 'not-admin';

export interface DeclareDeps {
  signer: OutageLinkSigner;
  singleUse: SingleUse;
  /** The configured break-glass admins' usernames, now (a link outlives a removal from the list only as a refusal). */
  admins: readonly string[];
  /** Read from the store itself, written through whatever cache the gate uses. */
  flag: FailoverFlag;
  backlog: ForwardBacklog;
  audit: AuditLog;
  clock: Clock;
}

export type LinkView =
  | { ok: true; link: OutageLink; flag: FailoverState | null; backlog: ForwardBacklogState | null }
  | { ok: false; reason: DeclareRefusal };

export type DeclareResult = { ok: true; link: OutageLink; state: FailoverState } | { ok: false; reason: DeclareRefusal };

export const linkKey = (link: OutageLink): string => `${SINGLE_USE_PREFIX.outageLink}${link.id}`;

/** What the page shows for a link; changes nothing. Flag or backlog that cannot be read show as unknown. */
export async function viewOutageLink(token: string, deps: DeclareDeps): Promise<LinkView> {
  const checked = await checkLink(token, deps);
  if (!checked.ok) return { ok: false, reason: checked.reason };
  const now = deps.clock.now();
  const [flag, backlog] = await Promise.all([deps.flag.read().catch(() => null), deps.backlog.read(now).catch(() => null)]);
  return { ok: true, link: checked.link, flag, backlog };
}

/**
 * Uses the link up and switches failover on as its admin. The link is taken before the
 * switch (two taps race: one wins) and given back when the switch fails, so a failure
 * of SSM does not burn the admin's only way in. A refused link with a valid signature is
 * audited as a denied `failover.on` of its admin.
 */
export async function declareOutage(token: string, message: string | undefined, deps: DeclareDeps): Promise<DeclareResult> {
  const checked = await checkLink(token, deps);
  if (!checked.ok) {
    if (checked.link) await deny(checked.link, checked.reason, deps);
    return { ok: false, reason: checked.reason };
  }
  const { link } = checked;
  const now = deps.clock.now();
  const owner = randomUUID();
  const details = { via: 'alarm-link', link: link.id };
  if (!(await deps.singleUse.take(linkKey(link), owner, link.expiresAt, now))) {
    await deny(link, 'used', deps);
    return { ok: false, reason: 'used' };
  }
  try {
    const state = await audited(
      deps.audit,
      deps.clock,
      { actor: link.admin, action: 'failover.on', details: { ...details, reason: ALARM_LINK_REASON } },
      () =>
        switchFailover(
          deps.flag,
          { on: true, ...(message !== undefined && message.trim() !== '' && { message }), actor: link.admin, reason: ALARM_LINK_REASON },
          deps.clock,
        ),
    );
    return { ok: true, link, state };
  } catch (error) {
    await deps.singleUse.giveBack(linkKey(link), owner).catch(() => undefined);
    throw error;
  }
}

/** A refusal carries the link when its signature was valid: only then does it name an admin worth recording. */
type Checked = { ok: true; link: OutageLink } | { ok: false; reason: DeclareRefusal; link?: OutageLink };

async function checkLink(token: string, deps: DeclareDeps): Promise<Checked> {
  const now = deps.clock.now();
  const verified = deps.signer.verify(token, now);
  if (!verified.ok) return verified;
  const { link } = verified;
  if (!deps.admins.some((admin) => normalizeAddress(admin) === normalizeAddress(link.admin)))
    return { ok: false, reason: 'not-admin', link };
  if (await deps.singleUse.isTaken(linkKey(link), now)) return { ok: false, reason: 'used', link };
  return { ok: true, link };
}

async function deny(link: OutageLink, reason: DeclareRefusal, deps: DeclareDeps): Promise<void> {
  await recordAudit(
    deps.audit,
    deps.clock,
    { actor: link.admin, action: 'failover.on', details: { via: 'alarm-link', link: link.id, refused: reason } },
    'denied',
  ).catch(() => undefined);
}

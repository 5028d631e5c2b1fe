// What the mailbox routes need from the composition root (ports, and the send use case's
// parts built from ports, so the same routes run on dynalite + files locally and
// DynamoDB + S3 + SES in AWS), and the few
// helpers the route modules share: reading a stored message through the renderer, and
// the signed URLs of inline images.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { type ComposeLimits, DEFAULT_COMPOSE_LIMITS } from '../../lambdas/core/compose/draft.ts';
import type { SendOnceDeps } from '../../lambdas/core/compose/send-once.ts';
import { MimeParseError, RawMessageMissingError } from '../../lambdas/core/errors.ts';
import type { MessageRecord } from '../../lambdas/core/model.ts';
import type { AddressMap } from '../../lambdas/ports/address-map.ts';
import type { Clock } from '../../lambdas/ports/clock.ts';
import type { DownloadLinks } from '../../lambdas/ports/download-links.ts';
import type { DraftStore } from '../../lambdas/ports/draft-store.ts';
import type { MailboxEntries } from '../../lambdas/ports/mailbox-entries.ts';
import type { MessageRecords } from '../../lambdas/ports/message-records.ts';
import type { MessageRenderer, RenderedMessage, RenderOptions } from '../../lambdas/ports/message-renderer.ts';
import type { RawMailStore } from '../../lambdas/ports/raw-mail-store.ts';
import { consoleLogger, type WebLogger } from '../middleware/logger.ts';

export interface MailRouteDeps {
  index: AddressMap & MessageRecords & MailboxEntries;
  rawStore: RawMailStore;
  renderer: MessageRenderer;
  /**
   * Presigned downloads (AWS: keeps attachments out of the 6 MB Lambda response).
   * null, or a link() that answers null: the route streams the attachment itself.
   */
  downloadLinks: DownloadLinks | null;
  /** Saved drafts and the files the browser uploads for them straight to the store (never through the webmail). */
  drafts: DraftStore;
  /** Our origin as browsers reach it: where the store sends the browser back after an upload. */
  publicOrigin: string;
  clock: Clock;
  /** Signs the URLs of inline (cid:) images; the session secret serves (a key is derived from it). */
  signingSecret: string;
  /** The send use case's parts, built once by the wiring (composer, mailer, Sent copies, once-gate). */
  sending: SendOnceDeps;
  logger?: WebLogger;
  /** Messages per folder page (1–100). */
  pageSize?: number;
  /** How long a signed inline-image URL stays valid. */
  inlineUrlSeconds?: number;
}

export const DEFAULT_INLINE_URL_SECONDS = 15 * 60;

export function composeLimitsOf(deps: MailRouteDeps): ComposeLimits {
  return { ...DEFAULT_COMPOSE_LIMITS, ...deps.sending.config.limits };
}

export function loggerOf(deps: MailRouteDeps): WebLogger {
  return deps.logger ?? consoleLogger;
}

export type RenderProblem = 'unreadable' | 'unavailable';

/**
 * The stored message through the renderer. A message the parser cannot read, or
 * whose raw bytes are gone, is a page with a notice rather than an error page.
 */
export async function renderStored(
  deps: MailRouteDeps,
  record: MessageRecord,
  options: RenderOptions,
): Promise<{ rendered: RenderedMessage; problem: null } | { rendered: null; problem: RenderProblem }> {
  try {
    const raw = await deps.rawStore.open(record.raw);
    return { rendered: await deps.renderer.render(raw, options), problem: null };
  } catch (error) {
    if (error instanceof MimeParseError) return { rendered: null, problem: 'unreadable' };
    if (error instanceof RawMessageMissingError) {
      loggerOf(deps).warn('raw message missing', { sesMessageId: record.sesMessageId, key: record.raw.key });
      return { rendered: null, problem: 'unavailable' };
    }
    throw error;
  }
}

/** For renders whose HTML nobody sees (reply, forward, the page's attachment list). */
export const NO_INLINE_IMAGES: RenderOptions = { allowRemote: false, cidUrl: () => 'about:invalid' };

// ---- signed URLs of inline images ----------------------------------------------

export const INLINE_PATH = '/inline';

/**
 * The message frame is sandboxed without allow-same-origin, so its image requests
 * come from an opaque origin, as cross-site requests without the SameSite session
 * cookie. The URL of an inline image therefore carries its own authorization: the
 * signed-in address, the message, the Content-ID and an expiry, under an HMAC. The
 * route still runs the normal mailbox check for that address (openEntry).
 */
export class InlineImageSigner {
  private readonly key: Buffer;

  constructor(
    secret: string,
    private readonly clock: Clock,
    private readonly ttlSeconds = DEFAULT_INLINE_URL_SECONDS,
  ) {
    if (secret.length < 32) throw new Error('the signing secret must have at least 32 characters');
    // A key of its own: a signature made here can never pass as a session cookie's.
    this.key = createHmac('sha256', secret).update('shadowmail/inline-image-url/v1').digest();
  }

  url(email: string, sesMessageId: string, contentId: string): string {
    const expires = Math.floor(this.clock.now().getTime() / 1000) + this.ttlSeconds;
    const query = new URLSearchParams({ u: email, x: String(expires), s: this.mac(email, sesMessageId, contentId, expires) });
    return `${INLINE_PATH}/${encodeURIComponent(sesMessageId)}/${encodeURIComponent(contentId)}?${query}`;
  }

  /** True when the parameters are the ones url() signed and have not expired. */
  verify(params: {
    email: string | undefined;
    sesMessageId: string;
    contentId: string;
    expires: string | undefined;
    signature: string | undefined;
  }): boolean {
    const { email, expires, signature } = params;
    if (email === undefined || expires === undefined || signature === undefined || !/^\d{1,12}$/.test(expires)) return false;
    const at = Number(expires);
    const now = this.clock.now().getTime() / 1000;
    if (at <= now || at > now + this.ttlSeconds + 60) return false;
    const expected = Buffer.from(this.mac(email, params.sesMessageId, params.contentId, at));
    const given = Buffer.from(signature);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  private mac(email: string, sesMessageId: string, contentId: string, expires: number): string {
    // JSON keeps the fields apart whatever characters a Content-ID holds.
    return createHmac('sha256', this.key)
      .update(JSON.stringify([email, sesMessageId, contentId, expires]))
      .digest('base64url');
  }
}

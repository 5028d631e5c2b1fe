// The webmail's mail routes as every composition root builds them (aws.ts, local.ts, the
// test harness, the bench): MIME rendering and composing are the same in every mode.
import type { MailRouteDeps } from '../../web/routes/mail-deps.ts';
import { MailparserMessageRenderer } from '../adapters/mime/mailparser-message-renderer.ts';
import { NodemailerMimeComposer } from '../adapters/mime/nodemailer-mime-composer.ts';
import type { RawMailStore, RawMailWriter } from '../ports/raw-mail-store.ts';

export function mailRouteDeps(deps: Omit<MailRouteDeps, 'renderer' | 'composer'>): MailRouteDeps {
  return { renderer: new MailparserMessageRenderer(), composer: new NodemailerMimeComposer(), ...deps };
}

/** On local disk: one store also keeps the Sent copies, and attachments stream through the webmail (no presigned links). */
export function localMailRouteDeps(
  deps: Omit<MailRouteDeps, 'renderer' | 'composer' | 'rawWriter' | 'downloadLinks'> & { rawStore: RawMailStore & RawMailWriter },
): MailRouteDeps {
  return mailRouteDeps({ rawWriter: deps.rawStore, downloadLinks: null, ...deps });
}

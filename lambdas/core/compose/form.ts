// The compose form as a Draft: what the form posts, as strings, read into mailboxes,
// attachments and message ids (validateDraft judges the result).
import type { Identity } from '../../ports/sign-in.ts';
import type { Draft, StagedAttachment, StoredAttachment, UploadedAttachment } from './draft.ts';
import { identityMailbox, parseAddressList } from './mailboxes.ts';

/** What the compose form posts, as strings; the page adds the uploaded files. */
export interface ComposeForm {
  to?: string;
  cc?: string;
  bcc?: string;
  subject?: string;
  text?: string;
  /** Hidden field of a reply form. */
  inReplyTo?: string;
  /** Hidden field of a reply form: ids separated by spaces. */
  references?: string;
  uploads?: { filename: string; contentType: string; content: Buffer }[];
  /** Files uploaded to the draft store for this draft. */
  staged?: Omit<StagedAttachment, 'kind'>[];
  /** Attachments of a stored message the user kept when forwarding. */
  stored?: { sesMessageId: string; index: number }[];
}

/** The form as a Draft; throws DraftError for address fields that do not parse. */
export function draftFromForm(identity: Identity, form: ComposeForm): Draft {
  const inReplyTo = form.inReplyTo?.trim() ?? '';
  const references = form.references?.trim() ?? '';
  return {
    from: identityMailbox(identity),
    to: parseAddressList(form.to ?? '', 'to'),
    cc: parseAddressList(form.cc ?? '', 'cc'),
    bcc: parseAddressList(form.bcc ?? '', 'bcc'),
    subject: form.subject ?? '',
    text: form.text ?? '',
    attachments: [
      ...(form.stored ?? []).map(
        (source): StoredAttachment => ({ kind: 'stored', sesMessageId: source.sesMessageId, index: source.index }),
      ),
      ...(form.uploads ?? []).map((upload): UploadedAttachment => ({ kind: 'upload', ...upload })),
      ...(form.staged ?? []).map((upload): StagedAttachment => ({ kind: 'staged', ...upload })),
    ],
    inReplyTo: inReplyTo === '' ? null : inReplyTo,
    references: references === '' ? [] : references.split(/\s+/),
  };
}

// Address handling shared by ingest, trace and the directory: one normal form for comparison.

/** The comparison form of an address: trimmed, angle brackets removed, lower case. */
export function normalizeAddress(address: string): string {
  return address
    .trim()
    .replace(/^<(.*)>$/, '$1')
    .trim()
    .toLowerCase();
}

/** Domain part of an address in comparison form, or '' when there is none. */
export function domainOf(address: string): string {
  const normalized = normalizeAddress(address);
  const at = normalized.lastIndexOf('@');
  return at < 0 ? '' : normalized.slice(at + 1);
}

/** Envelope recipients without duplicates that differ only in case, first spelling kept. */
export function uniqueRecipients(recipients: readonly string[]): string[] {
  const seen = new Set<string>();
  const result: string[] = [];
  for (const recipient of recipients) {
    const key = normalizeAddress(recipient);
    if (key === '' || seen.has(key)) continue;
    seen.add(key);
    result.push(recipient.trim());
  }
  return result;
}

/** The address inside a header mailbox such as `"Name" <a@b>` (comparison form). */
export function addressOfMailbox(mailbox: string): string {
  const angle = /<([^>]*)>\s*$/.exec(mailbox);
  return normalizeAddress(angle?.[1] ?? mailbox);
}

/** Message-IDs compare without angle brackets and case-insensitively. */
export function normalizeMessageId(messageId: string): string {
  return messageId
    .trim()
    .replace(/^<(.*)>$/, '$1')
    .trim()
    .toLowerCase();
}

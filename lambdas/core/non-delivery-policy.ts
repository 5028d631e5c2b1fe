// No backscatter: whom a non-delivery report may go to. A report goes to the envelope
// sender, which anyone can forge; a report to a forged sender is spam we send
// ("backscatter"). So only when the sender is plausibly real: SPF passed (SPF judges the
// MAIL FROM domain itself), or DMARC passed for a From domain aligned with the MAIL FROM
// domain (DMARC passes only when SPF or DKIM passed aligned with the From domain). Never
// to the null sender (RFC 5321 §4.5.5: no report about a report), never for spam or virus.
import { domainOf } from './addresses.ts';
import type { MessageRecord } from './model.ts';

export type ReportDecision = { send: true } | { send: false; reason: string };

/** Reports to one sender domain per hour at most; beyond that they are withheld (and traced). */
export const NON_DELIVERY_REPORTS_PER_DOMAIN_HOUR = 30;

export type ReportSubject = Pick<MessageRecord, 'envelopeFrom' | 'verdicts' | 'spamFlagged'> & { summary: { from: string[] } };

export function nonDeliveryDecision(record: ReportSubject): ReportDecision {
  const sender = record.envelopeFrom.trim();
  if (sender === '') return { send: false, reason: 'the null sender (a report about a report is never sent)' };
  const senderDomain = domainOf(sender);
  if (senderDomain === '') return { send: false, reason: `the sender ${sender} has no domain` };
  if (record.verdicts.virus === 'FAIL') return { send: false, reason: 'the message carries a virus' };
  if (record.verdicts.spam === 'FAIL' || record.spamFlagged) return { send: false, reason: 'the message was flagged as spam' };
  if (record.verdicts.spf === 'PASS') return { send: true };
  if (record.verdicts.dmarc === 'PASS' && fromAlignedWith(record.summary.from, senderDomain)) return { send: true };
  return {
    send: false,
    reason: `the sender is not authenticated: SPF for ${senderDomain} did not pass, nor DMARC for a From domain aligned with it`,
  };
}

/** DMARC judges a single From mailbox; relaxed alignment: one domain is the other or under it. */
function fromAlignedWith(from: string[], senderDomain: string): boolean {
  if (from.length !== 1) return false;
  const angle = /<([^<>]*)>\s*$/.exec(from[0]!);
  const fromDomain = domainOf((angle ? angle[1]! : from[0]!).trim());
  if (fromDomain === '') return false;
  return fromDomain === senderDomain || fromDomain.endsWith(`.${senderDomain}`) || senderDomain.endsWith(`.${fromDomain}`);
}

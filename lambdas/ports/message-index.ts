// The message index: every role one table serves. Adapters implement it whole and
// wiring builds it; a consumer names only the roles it uses (ports/address-map.ts,
// message-records.ts, mailbox-entries.ts, delivery-log.ts, message-search.ts, once-gate.ts,
// pending-recipients.ts).
import type { AddressMap } from './address-map.ts';
import type { DeliveryLog } from './delivery-log.ts';
import type { MailboxEntries } from './mailbox-entries.ts';
import type { MessageRecords } from './message-records.ts';
import type { MessageSearch } from './message-search.ts';
import type { OnceGate } from './once-gate.ts';
import type { PendingRecipients } from './pending-recipients.ts';

export type MessageIndex = AddressMap & MessageRecords & MailboxEntries & DeliveryLog & MessageSearch & OnceGate & PendingRecipients;

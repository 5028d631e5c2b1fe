// The largest message the primary takes (config smartHost.maxMessageBytes,
// SHADOWMAIL_PRIMARY_MAX_MESSAGE_BYTES in local mode). Larger mail is still kept and shown in
// the webmail, but never relayed: its sender gets a non-delivery report instead, and local
// mode's SMTP listener refuses it at the door (552).
export const PRIMARY_MESSAGE_BYTES = {
  min: 64 * 1024,
  // Exchange's own upper bound for MaxMessageSize (2 GB).
  max: 2 * 1024 ** 3,
  // Exchange's default MaxMessageSize of a receive connector: 36 MB (Exchange 2013 and later;
  // https://learn.microsoft.com/en-us/exchange/mail-flow/message-size-limits).
  default: 36 * 1024 * 1024,
} as const;

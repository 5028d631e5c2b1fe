// The SMTP-smuggling end-of-DATA variants (SEC Consult, 2023), for the relay tests that
// check one message stays one message; the corpus test relays the published list.
export const SMUGGLING_SEQUENCES = [
  '\n.\n',
  '\n.\r',
  '\r.\n',
  '\r.\r',
  '\n.\r\n',
  '\r.\r\n',
  '\r\n.\r\r\n',
  '\r\r\n.\r\r\n',
  '\r\n\x00.\r\n',
  '\r\n.\r\n',
] as const;

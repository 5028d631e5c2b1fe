// The smart-host probe's steps up to a TLS session, as the probe tests expect them
// (`<step>:<reply code>`): what follows differs from test to test.
export const STARTTLS_STEPS = ['connect:ok', 'greeting:220', 'ehlo:250', 'starttls:220', 'ehlo:250'] as const;

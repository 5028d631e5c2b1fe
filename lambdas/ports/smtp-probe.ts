// Port: checks the way to the primary without sending a message — connect, greeting,
// EHLO, STARTTLS (certificate checked), AUTH if configured, MAIL FROM, RCPT TO, then
// RSET and QUIT, never DATA. `shadowmail doctor` runs it inside the deployed forward
// function (the Lambda invoke payload below), so it sees what the forward sees: the
// same network path (NAT, blocked ports), TLS settings and credentials.

export type ProbeStepName = 'connect' | 'greeting' | 'ehlo' | 'starttls' | 'auth' | 'mail' | 'rcpt' | 'rset' | 'quit';

export interface ProbeStep {
  step: ProbeStepName;
  ok: boolean;
  /** Milliseconds the step took (until its reply, error or timeout). */
  ms: number;
  /** The server's reply code, when it answered. */
  code?: number;
  /** The server's reply text, or what went wrong (timeout, certificate, …). */
  reply?: string;
}

/**
 * What stopped the probe, in the terms of the forward's classification:
 * `unreachable` (no TCP connection: blocked port, firewall, host down), `timeout`
 * (connected, no answer in time), `tls` and `auth` (configuration faults: the primary
 * refuses *us*), `refused` (MAIL or RCPT refused), or null when every step passed.
 */
export type ProbeFault = 'unreachable' | 'timeout' | 'tls' | 'auth' | 'refused' | null;

export interface ProbeResult {
  host: string;
  port: number;
  ok: boolean;
  fault: ProbeFault;
  steps: ProbeStep[];
  /** One sentence for the admin: what failed and what to do. */
  summary: string;
}

export interface ProbeRequest {
  /** MAIL FROM (may be empty for the null sender). */
  from: string;
  /** RCPT TO: a real mailbox of one of the domains. */
  recipient: string;
}

export interface SmtpProbe {
  probe(request: ProbeRequest): Promise<ProbeResult>;
}

/**
 * The forward function's invoke payload for a probe (`aws lambda invoke` or the
 * doctor); any other event is an SQS batch. The function answers with a ProbeResult.
 */
export interface ForwardProbeEvent {
  shadowmailProbe: ProbeRequest;
}

export function isForwardProbeEvent(event: unknown): event is ForwardProbeEvent {
  const probe = (event as { shadowmailProbe?: unknown } | null)?.shadowmailProbe as Partial<ProbeRequest> | undefined;
  return typeof probe === 'object' && probe !== null && typeof probe.from === 'string' && typeof probe.recipient === 'string';
}

// The forward function's probe mode (ports/smtp-probe.ts): `shadowmail doctor` invokes the
// deployed forward function with {shadowmailProbe: {from, recipient}} and gets a
// ProbeResult back, so the check runs where the forward runs — same network path (NAT,
// blocked ports), same TLS settings and credentials. The request is checked here; the
// probe itself is built by the wiring.
import { fitsSmtpPath, hasAddressShape } from '../core/addresses.ts';
import { InvalidInputError } from '../core/errors.ts';
import type { ForwardProbeEvent, ProbeRequest, ProbeResult, SmtpProbe } from '../ports/smtp-probe.ts';
import type { Observability } from './observability.ts';
import * as z from './zod-mini.ts';

export type ForwardProbeHandlerDeps = { probe: SmtpProbe } & Pick<Observability, 'logger'>;
export type ForwardProbeHandler = (event: ForwardProbeEvent) => Promise<ProbeResult>;

// An SMTP path is at most 256 octets (RFC 5321 section 4.5.3.1.3); CR, LF, NUL and angle
// brackets could end the command or the path early.
const PATH = z.string().check(z.maxLength(256, 'at most 256 characters'), z.refine(fitsSmtpPath, 'no CR, LF, NUL, < or >'));

const probeRequestSchema = z.object({
  from: PATH.check(z.refine((address: string) => address === '' || address.includes('@'), 'empty (the null sender) or an address with @')),
  recipient: PATH.check(z.refine(hasAddressShape, 'a mailbox address such as postmaster@corp.example')),
});

export function parseProbeRequest(event: unknown): ProbeRequest {
  const parsed = z.safeParse(probeRequestSchema, (event as { shadowmailProbe?: unknown } | null)?.shadowmailProbe);
  if (!parsed.success) throw new InvalidInputError(`invalid probe request: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

export function createForwardProbeHandler({ probe, logger }: ForwardProbeHandlerDeps): ForwardProbeHandler {
  return async (event) => {
    const request = parseProbeRequest(event);
    const result = await probe.probe(request);
    logger.info('smart host probe', { ...request, ok: result.ok, fault: result.fault, summary: result.summary, steps: result.steps });
    return result;
  };
}

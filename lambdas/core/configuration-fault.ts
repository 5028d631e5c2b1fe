// Configuration faults in words: what the trace, the admin console's English fallback and
// an expiry reason say when the primary refused *us* (see ConfigurationFault in model.ts).
import type { ConfigurationFault } from './model.ts';

/** The relay's fault when it is a configuration fault (unreachable and timeout are not: they heal by themselves). */
export function configurationFaultOf(reply: { fault?: string | undefined }): ConfigurationFault | null {
  return reply.fault === 'auth' || reply.fault === 'tls' ? reply.fault : null;
}

const WHAT: Record<ConfigurationFault, { happened: string; check: string }> = {
  auth: {
    happened: "Exchange refused shadowmail's login or asked for one",
    check: 'check the smart-host secret and the receive connector (docs/deploy.md 3.3, 6.2, 6.3)',
  },
  tls: {
    happened: 'TLS with Exchange failed as configured',
    check:
      "check Exchange's certificate (a trusted authority, valid for the smart-host name) and STARTTLS on the receive connector (docs/deploy.md 6.5)",
  },
};

/** One line for the trace: "configuration fault: Exchange refused … (535 …) — check …; the message is kept and retried". */
export function describeConfigurationFault(fault: ConfigurationFault, reply?: string): string {
  const { happened, check } = WHAT[fault];
  return `configuration fault: ${happened}${reply ? ` (${reply})` : ''} — ${check}; the message is kept and retried`;
}

/** The expiry reason's addition when the last attempt failed on the settings, not on Exchange being away. */
export function expiredAfterConfigurationFault(fault: ConfigurationFault): string {
  const { happened, check } = WHAT[fault];
  return `the last attempt failed on a configuration fault: ${happened} — ${check}, then resend the message`;
}

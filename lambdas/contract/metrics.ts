// The custom metrics: what the handlers emit (Powertools EMF) and what the alarms, the
// dashboard (lib/constructs/monitoring.ts) and `shadowmail doctor` read. One list, so a
// renamed metric cannot leave an alarm watching a name nobody emits.

export const METRICS_NAMESPACE = 'shadowmail';

/** Powertools service names: the `service` dimension of every custom metric, and the logger's service. */
export const SERVICE = {
  ingest: 'shadowmail-ingest',
  forward: 'shadowmail-forward',
  resend: 'shadowmail-resend',
  webmail: 'shadowmail-webmail',
  outageAlarm: 'shadowmail-outage-alarm',
  ruleSetActivation: 'ses-rule-set-activation',
  signInTrigger: 'shadowmail-sign-in-trigger',
} as const;

export const METRIC = {
  messagesIngested: 'MessagesIngested',
  messagesUnparsed: 'MessagesUnparsed',
  ingestErrors: 'IngestErrors',
  recipientsDelivered: 'RecipientsDelivered',
  recipientsDeferred: 'RecipientsDeferred',
  recipientsFailed: 'RecipientsFailed',
  /** Age (s) of a message whose forward was deferred again; the stack alarms on its maximum. */
  forwardBacklogAgeSeconds: 'ForwardBacklogAgeSeconds',
  /**
   * One attempt (forward or resend) that the smart host refused on its settings: login
   * required or refused, TLS not as configured. The stack alarms on it within minutes.
   */
  smartHostConfigurationFaults: 'SmartHostConfigurationFaults',
  resendDelivered: 'ResendDelivered',
  resendDeferred: 'ResendDeferred',
  resendFailed: 'ResendFailed',
  resendInDoubt: 'ResendInDoubt',
  resendSkipped: 'ResendSkipped',
} as const;

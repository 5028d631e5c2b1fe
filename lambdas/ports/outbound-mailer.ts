// Port: sends a message the webmail composed (SES in AWS; SMTP to the sink or a relay locally).
export interface OutboundEnvelope {
  from: string;
  recipients: string[];
}

export interface OutboundMailer {
  /** Sends the raw MIME bytes as they are; resolves with the provider's message id. */
  send(envelope: OutboundEnvelope, raw: Buffer): Promise<{ providerMessageId: string }>;
}

// The smart host as the relay (smtp-relay.ts) and the probe (smtp-probe.ts) both reach
// it: one definition of the connection settings — TLS mode, the certificate check (CA,
// name), the EHLO name, the login — and of how a failed session is classified, so the
// probe tells the admin what the forward would meet.
import { isIP } from 'node:net';
import { hostname } from 'node:os';
import type { ConnectionOptions } from 'node:tls';
import type { SmtpTlsMode } from '../../contract/environment.ts';
import type { SmtpCredentialSource, SmtpCredentials } from '../../ports/smtp-credentials.ts';
import type { SmtpFault } from '../../ports/smtp-relay.ts';

export type SmtpAuthMethod = 'PLAIN' | 'LOGIN';

export interface SmartHostSettings {
  host: string;
  port: number;
  tls?: SmtpTlsMode;
  /** Fixed credentials (local mode, tests). */
  auth?: SmtpCredentials & { method?: SmtpAuthMethod };
  /** Credentials read for every session (in AWS the smart-host secret); wins over `auth`. */
  credentials?: SmtpCredentialSource;
  /** Verify the server certificate (default true). */
  rejectUnauthorized?: boolean;
  /** Trusted CA certificate(s), PEM: pins a self-signed certificate of the primary. */
  ca?: string | Buffer | Array<string | Buffer>;
  /** Name to verify the certificate against (default: `host` unless it is an IP address). */
  servername?: string;
  /** EHLO name (default: this machine's name if it is a domain name, else an address literal). */
  name?: string;
}

/** The settings resolved once: what every session of the relay and the probe uses. */
export interface SmartHostConnection {
  host: string;
  port: number;
  tls: SmtpTlsMode;
  /** For tls.connect, at STARTTLS or from the first byte. */
  tlsOptions: ConnectionOptions;
  ehloName: string;
  credentials: SmtpCredentialSource | null;
  /** A fixed login mechanism; otherwise the first of AUTH_PREFERENCE the server offers. */
  authMethod: SmtpAuthMethod | null;
}

/** nodemailer's order when no mechanism is configured (smtp-connection login(); it also knows CRAM-MD5, which Exchange does not offer); the probe follows it. */
export const AUTH_PREFERENCE: readonly SmtpAuthMethod[] = ['PLAIN', 'LOGIN'];

export function smartHostConnection(settings: SmartHostSettings): SmartHostConnection {
  const servername = settings.servername ?? (isIP(settings.host) ? undefined : settings.host);
  const tlsOptions: ConnectionOptions = { rejectUnauthorized: settings.rejectUnauthorized ?? true };
  if (settings.ca !== undefined) tlsOptions.ca = settings.ca;
  if (servername !== undefined) tlsOptions.servername = servername;
  const fixed = settings.auth;
  return {
    host: settings.host,
    port: settings.port,
    tls: settings.tls ?? 'starttls-required',
    tlsOptions,
    ehloName: settings.name ?? defaultEhloName(),
    credentials: settings.credentials ?? (fixed ? fixedCredentials({ user: fixed.user, pass: fixed.pass }) : null),
    authMethod: fixed?.method ?? null,
  };
}

/** Credentials that never change: nothing to read again after a refusal. */
export function fixedCredentials(credentials: SmtpCredentials): SmtpCredentialSource {
  return { current: async () => credentials, refused: () => undefined };
}

/**
 * Credentials go only over an encrypted session, unless plaintext was chosen on purpose
 * (`none`): a failed or refused STARTTLS must not put the password on the wire.
 */
export function mayLogIn(tls: SmtpTlsMode, secure: boolean): boolean {
  return secure || tls === 'none';
}

/** nodemailer's default EHLO name, made explicit so relay and probe send the same. */
function defaultEhloName(): string {
  let name = '';
  try {
    name = hostname();
  } catch {
    name = '';
  }
  if (!name.includes('.')) return '[127.0.0.1]';
  return isIP(name) === 4 ? `[${name}]` : name;
}

// ------------------------------------------------------------------ classifying failures

/**
 * Replies that say the server wants, or refused, our login (RFC 4954 section 6):
 * 530 authentication required (Exchange's Client Frontend at MAIL FROM), 534 mechanism
 * too weak, 535 credentials invalid, 538 encryption required for the mechanism.
 */
const AUTH_REPLY_CODES = new Set([530, 534, 535, 538]);

export function replyFault(code: number): SmtpFault | undefined {
  return AUTH_REPLY_CODES.has(code) ? 'auth' : undefined;
}

/** System error codes of a TCP connection that never came about (and of a name that did not resolve). */
const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'ENOTFOUND', 'EAI_AGAIN', 'EADDRNOTAVAIL']);

export function isUnreachableCode(code: string | undefined): boolean {
  return code !== undefined && UNREACHABLE_CODES.has(code);
}

/** Node's and OpenSSL's codes for a certificate that is not trusted or not for this name, and for a failed handshake. */
export function isTlsErrorCode(code: string | undefined): boolean {
  return code !== undefined && /^(ERR_TLS_|ERR_SSL_|UNABLE_TO_)|CERT|^EPROTO$/.test(code);
}

/** What to tell about a certificate check that failed, by Node's code (the message alone says little). */
export function describeTlsError(error: { code?: string; message?: string }): string {
  const code = error.code ?? '';
  const detail = error.message ?? String(error);
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') return `the certificate is not valid for this name: ${detail}`;
  if (/SELF_SIGNED|UNABLE_TO_(GET_ISSUER|VERIFY)|CERT_UNTRUSTED/.test(code))
    return `the certificate is not from a trusted authority: ${detail}`;
  if (/CERT_HAS_EXPIRED|CERT_NOT_YET_VALID/.test(code)) return `the certificate is expired or not yet valid: ${detail}`;
  return detail;
}

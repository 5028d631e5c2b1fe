// One error hierarchy for shadowmail. Every error carries a stable code and,
// where it wraps another failure, the original as `cause`, so logs keep the chain.

export class ShadowmailError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** Configuration is missing or wrong; the message names the variable or key. */
export class ConfigurationError extends ShadowmailError {
  constructor(
    readonly variable: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super('CONFIGURATION', `${variable}: ${message}`, options);
  }
}

/** Input that will never become valid by retrying (bad notification, bad job). */
export class InvalidInputError extends ShadowmailError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('INVALID_INPUT', message, options);
  }
}

/** A transient failure: the same work should be tried again later. */
export class RetryableError extends ShadowmailError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('RETRYABLE', message, options);
  }
}

/** The raw message the notification points to is not in the store (yet). */
export class RawMessageMissingError extends RetryableError {
  constructor(
    readonly key: string,
    options?: { cause?: unknown },
  ) {
    super(`raw message ${key} not found in the store`, options);
  }
}

/** Another worker holds the lease on this message; try again after it expires. */
export class LeaseBusyError extends RetryableError {
  constructor(readonly resource: string) {
    super(`${resource} is being processed by another worker`);
  }
}

/** The MIME parser could not make sense of the message. Never a reason to lose it. */
export class MimeParseError extends ShadowmailError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('MIME_PARSE', message, options);
  }
}

/** The thing asked for does not exist — or the caller may not know that it does (same answer). */
export class NotFoundError extends ShadowmailError {
  constructor(message = 'not found') {
    super('NOT_FOUND', message);
  }
}

/** The caller is known but may not do this (admin routes for non-admins). */
export class ForbiddenError extends ShadowmailError {
  constructor(message = 'forbidden') {
    super('FORBIDDEN', message);
  }
}

/** The primary's IMAP server refused or failed a step of `shadowmail reconcile`; `fault` says which kind (ports/imap-mailboxes.ts). */
export class ImapError extends ShadowmailError {
  constructor(
    readonly fault: 'auth' | 'mailbox' | 'unreachable' | 'timeout' | 'refused',
    message: string,
    options?: { cause?: unknown },
  ) {
    super('IMAP', message, options);
  }
}

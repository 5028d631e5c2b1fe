// The smart host's SMTP login from AWS Secrets Manager, read through Powertools' parameter
// cache each time a session needs it: a changed secret is used within the cache time
// (5 minutes) without a redeploy, and at once after the smart host refused the old one
// (forceFetch; at most every 30 s, so a wrong password in a busy backlog does not turn
// into a Secrets Manager call per message).
import { getSecret } from '@aws-lambda-powertools/parameters/secrets';
// zod's mini API: this adapter is in the forward's bundle (handlers/zod-mini.ts says why); only success is read.
import * as z from 'zod/mini';
import { ConfigurationError } from '../../core/errors.ts';
import type { SmtpCredentialSource, SmtpCredentials } from '../../ports/smtp-credentials.ts';

/** How long a read secret is used before it is read again (Powertools maxAge). */
export const SMART_HOST_SECRET_MAX_AGE_SECONDS = 300;
/** The shortest time between two reads forced by refused logins. */
export const SMART_HOST_SECRET_MIN_REFRESH_MS = 30_000;

const secretSchema = z.object({ username: z.string().check(z.minLength(1)), password: z.string().check(z.minLength(1)) });

export class SecretsManagerSmtpCredentials implements SmtpCredentialSource {
  private stale = false;
  private lastForcedAt = Number.NEGATIVE_INFINITY;

  /** `variable` names where the ARN came from, for the error an unusable secret gives. */
  constructor(
    private readonly secretArn: string,
    private readonly variable: string,
    private readonly now: () => number = Date.now,
  ) {}

  async current(): Promise<SmtpCredentials> {
    const forceFetch = this.stale && this.now() - this.lastForcedAt >= SMART_HOST_SECRET_MIN_REFRESH_MS;
    if (forceFetch) {
      this.stale = false;
      this.lastForcedAt = this.now();
    }
    let value: unknown;
    try {
      value = await getSecret(this.secretArn, { transform: 'json', maxAge: SMART_HOST_SECRET_MAX_AGE_SECONDS, forceFetch });
    } catch (error) {
      // Powertools' TransformParameterError: the secret is there but is not JSON
      if ((error as Error).name === 'TransformParameterError') throw unusable(this.variable, { cause: error });
      throw error;
    }
    const parsed = z.safeParse(secretSchema, value);
    if (!parsed.success) throw unusable(this.variable);
    return { user: parsed.data.username, pass: parsed.data.password };
  }

  refused(): void {
    this.stale = true;
  }
}

function unusable(variable: string, options?: { cause?: unknown }): ConfigurationError {
  return new ConfigurationError(variable, 'the secret must be JSON {"username": "...", "password": "..."}', options);
}

// The deployment's configuration: read from the CDK context key `shadowmail`
// (cdk.json, or `-c shadowmail.config=path.json` for a file of the same shape),
// validated once before any construct exists. A missing or wrong value stops
// synth with one message naming the key, e.g. `shadowmail.smartHost.port`.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Node } from 'constructs';
import { z } from 'zod';
import { smtpTlsModes } from '../lambdas/wiring/env.ts';

export const CONFIG_CONTEXT_KEY = 'shadowmail';
export const CONFIG_FILE_CONTEXT_KEY = 'shadowmail.config';

const domainPattern = /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;
const hostPattern = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
// A complete ARN (with the 6-character suffix Secrets Manager appends): a grant on
// a partial ARN would need a wildcard.
const secretArnPattern = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+-[A-Za-z0-9]{6}$/;

// SQS keeps a message at most 14 days; the forward queue has to hold a job for
// the whole forward window (lambdas/wiring/env.ts caps it likewise).
export const SQS_MAX_RETENTION_DAYS = 14;

const configSchema = z
  .object({
    // Prefix of the stack names and of SHADOWMAIL_STACK_ID (the loop stamp).
    stackId: z
      .string()
      .regex(/^[A-Za-z][A-Za-z0-9-]{0,39}$/, 'a letter, then letters, digits or dashes, at most 40 (a CloudFormation stack name prefix)')
      .default('shadowmail'),
    domains: z
      .array(z.string().transform((d) => d.trim().toLowerCase()).pipe(z.string().regex(domainPattern, 'a mail domain such as corp.example')))
      .min(1, 'at least one mail domain')
      .refine((list) => new Set(list).size === list.length, 'domains must not repeat'),
    smartHost: z.strictObject({
      host: z.string().regex(hostPattern, 'a host name or IPv4 address of the Exchange receive connector'),
      port: z.number().int().min(1).max(65535).default(587),
      tls: z.enum(smtpTlsModes).default('starttls-required'),
      authSecretArn: z
        .string()
        .regex(secretArnPattern, 'the complete ARN of a Secrets Manager secret (…:secret:name-AbCdEf) holding {"username","password"}')
        .optional(),
      heloName: z.string().regex(hostPattern, 'a host name').optional(),
    }),
    retentionDays: z.number().int().min(1).max(3650).default(28),
    forwardMaxAgeDays: z.number().positive().max(SQS_MAX_RETENTION_DAYS).default(5),
    // Optional target environment; without it the stacks are environment-agnostic.
    account: z.string().regex(/^\d{12}$/, 'a 12-digit AWS account id').optional(),
    region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'an AWS region such as eu-west-1').optional(),
  })
  .strict()
  .refine((c) => c.forwardMaxAgeDays <= c.retentionDays, {
    path: ['forwardMaxAgeDays'],
    message: 'must not exceed retentionDays: the forward reads the raw message, which expires with the retention',
  });

export type ShadowmailConfig = z.output<typeof configSchema>;
export type ShadowmailConfigInput = z.input<typeof configSchema>;

/** Configuration that cannot be synthesized; `key` is the dotted context path. */
export class ShadowmailConfigError extends Error {
  constructor(
    readonly key: string,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`${key}: ${detail}`, options);
    this.name = 'ShadowmailConfigError';
  }
}

/** Validates a configuration object; the first problem becomes an error naming its key. */
export function parseConfig(raw: unknown, file?: string): ShadowmailConfig {
  const where = file === undefined ? '' : ` (in ${file})`;
  if (raw === undefined || raw === null) {
    throw new ShadowmailConfigError(
      CONFIG_CONTEXT_KEY,
      `is required: set the context key "${CONFIG_CONTEXT_KEY}" in cdk.json or pass -c ${CONFIG_FILE_CONTEXT_KEY}=path.json`,
    );
  }
  const parsed = configSchema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const path = issue.code === 'unrecognized_keys' ? [...issue.path, issue.keys[0]!] : issue.path;
  const key = [CONFIG_CONTEXT_KEY, ...path.map(String)].join('.');
  const missing = issue.code === 'invalid_type' && /received undefined/.test(issue.message);
  const detail = issue.code === 'unrecognized_keys' ? 'is not a known setting' : missing ? `is required (${issue.message})` : issue.message;
  throw new ShadowmailConfigError(key, `${detail}${where}`);
}

/**
 * Reads the configuration from the construct tree's context: a JSON file named by
 * `shadowmail.config` wins over the inline `shadowmail` object.
 */
export function loadConfig(node: Node, cwd = process.cwd()): ShadowmailConfig {
  const file: unknown = node.tryGetContext(CONFIG_FILE_CONTEXT_KEY);
  if (file !== undefined) {
    if (typeof file !== 'string' || file === '') throw new ShadowmailConfigError(CONFIG_FILE_CONTEXT_KEY, 'must be the path of a JSON file');
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(resolve(cwd, file), 'utf8'));
    } catch (error) {
      throw new ShadowmailConfigError(CONFIG_FILE_CONTEXT_KEY, `cannot read ${file}: ${(error as Error).message}`, { cause: error });
    }
    return parseConfig(raw, file);
  }
  let raw: unknown = node.tryGetContext(CONFIG_CONTEXT_KEY);
  // `-c shadowmail='{...}'` arrives as a string.
  if (typeof raw === 'string') {
    try {
      raw = JSON.parse(raw);
    } catch (error) {
      throw new ShadowmailConfigError(CONFIG_CONTEXT_KEY, 'is not a JSON object', { cause: error });
    }
  }
  return parseConfig(raw);
}

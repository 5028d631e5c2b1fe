// One result of `shadowmail doctor`: a named check with ok / warn / fail, what was
// seen, and — for warn and fail — what to do. The check modules (ses, dns, smart
// host, cognito, operations) turn what the SDK, DNS or HTTP returned into these;
// this file prints them, one line per check.

export type CheckStatus = 'ok' | 'warn' | 'fail';

export type CheckGroup = 'ses' | 'dns' | 'smart host' | 'cognito' | 'operations' | 'notices';

export interface Check {
  group: CheckGroup;
  /** What was checked, e.g. `identity corp.example`. */
  name: string;
  status: CheckStatus;
  /** What was seen. */
  detail: string;
  /** What to do (warn and fail). */
  fix?: string;
  /** Further lines printed under the check (the smart host's SMTP steps). */
  lines?: string[];
}

export const ok = (group: CheckGroup, name: string, detail: string, lines?: string[]): Check => ({
  group,
  name,
  status: 'ok',
  detail,
  ...(lines && { lines }),
});
/** A warning or a failure: what was seen and what to do. */
const withFix =
  (status: 'warn' | 'fail') =>
  (group: CheckGroup, name: string, detail: string, fix: string, lines?: string[]): Check => ({
    group,
    name,
    status,
    detail,
    fix,
    ...(lines && { lines }),
  });
export const warn = withFix('warn');
export const fail = withFix('fail');

/**
 * A check that could not be made because an AWS call failed: fail, naming the call and,
 * when AWS refused it, the IAM action the admin's identity lacks.
 */
export function callFailed(group: CheckGroup, name: string, action: string, error: unknown): Check {
  const errorName = (error as { name?: string }).name ?? 'Error';
  const message = String((error as Error).message ?? error)
    .split('\n')[0]!
    .trim();
  if (/AccessDenied|NotAuthorized|AuthorizationError|UnauthorizedOperation|Forbidden/i.test(errorName)) {
    return fail(
      group,
      name,
      `not allowed to call ${action}: ${message}`,
      `grant your identity ${action} (docs/deploy.md, "Check the deployment: shadowmail doctor")`,
    );
  }
  return fail(
    group,
    name,
    `${action} failed: ${errorName}: ${message}`,
    'try again; if it persists, check the service in the AWS console for this region',
  );
}

export interface CheckSummary {
  ok: number;
  warn: number;
  fail: number;
}

export function summarize(checks: readonly Check[]): CheckSummary {
  return {
    ok: checks.filter((check) => check.status === 'ok').length,
    warn: checks.filter((check) => check.status === 'warn').length,
    fail: checks.filter((check) => check.status === 'fail').length,
  };
}

const LABEL: Record<CheckStatus, string> = { ok: 'ok  ', warn: 'WARN', fail: 'FAIL' };

/** One line per check (`FAIL  dns  MX corp.example: …`), indented lines below it, and `→ fix` for warn and fail. */
export function formatCheck(check: Check): string {
  const lines = [`${LABEL[check.status]}  ${check.group.padEnd(10)} ${check.name}: ${oneLine(check.detail)}`];
  for (const line of check.lines ?? []) lines.push(`                  ${line}`);
  if (check.status !== 'ok' && check.fix) lines.push(`                  → ${oneLine(check.fix)}`);
  return lines.join('\n');
}

export function formatSummary(summary: CheckSummary): string {
  return `${summary.ok} ok, ${summary.warn} warn, ${summary.fail} fail`;
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

// doctor, the smart host from where the forward really runs: Lambda Invoke of the deployed
// forward function in probe mode, so the probe takes the forward's network path, TLS
// settings and credentials, and stops before DATA. Why the null sender and postmaster@ as
// defaults: docs/design.md §8.
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import type { ForwardProbeEvent, ProbeResult, ProbeStep } from '../../../lambdas/ports/smtp-probe.ts';
import { type Check, callFailed, fail, ok, warn } from './check.ts';
import { type DoctorContext, missingOutput } from './context.ts';

/** Longer than the probe's own bound (≤ 30 s inside the function) plus a cold start. */
const INVOKE_TIMEOUT_MS = 90_000;

export function probeLines(steps: ProbeStep[]): string[] {
  return steps.map((step) => {
    const reply = step.reply ? ` ${step.reply.replace(/\s+/g, ' ').trim().slice(0, 160)}` : '';
    return `${step.step.padEnd(8)} ${step.ok ? 'ok  ' : 'FAIL'} ${String(step.ms).padStart(5)} ms ${step.code !== undefined ? String(step.code) : '   '}${reply}`.trimEnd();
  });
}

/** What the forward function's probe answered. */
export function probeCheck(result: ProbeResult, recipient: string, defaultRecipient: boolean): Check {
  const name = `${result.host}:${result.port}`;
  const lines = probeLines(result.steps);
  if (result.ok)
    return ok('smart host', name, `the forward function reached it and RCPT TO:<${recipient}> was accepted (no DATA sent)`, lines);
  const failed = result.steps.find((step) => !step.ok);
  const at = failed
    ? `${failed.step}${failed.code !== undefined ? ` ${failed.code}` : ''}${failed.reply ? ` ${failed.reply}` : ''}`
    : 'no step';
  if (result.fault === 'refused' && failed?.step === 'rcpt' && defaultRecipient && failed.code !== undefined && failed.code >= 500) {
    return warn(
      'smart host',
      name,
      `everything up to RCPT works; Exchange refused the default test recipient ${recipient} (${at})`,
      'run again with --mailbox <a real mailbox>: doctor must see Exchange accept a real recipient',
      lines,
    );
  }
  return fail('smart host', name, `${result.fault ?? 'failed'} at ${at}`, result.summary, lines);
}

/**
 * The Invoke answered with a function error instead of a ProbeResult: FunctionError `Handled` (the function
 * threw) or `Unhandled` (the runtime failed: timeout, out of memory), details in the payload (Lambda API
 * reference, Invoke: https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html).
 */
export function functionErrorCheck(functionName: string, kind: string, payload: string): Check {
  let error: { errorType?: string; errorMessage?: string } = {};
  try {
    error = JSON.parse(payload) as typeof error;
  } catch {
    error = { errorMessage: payload };
  }
  const message = `${error.errorType ? `${error.errorType}: ` : ''}${error.errorMessage ?? 'no message'}`;
  const timedOut = /timed out|Sandbox\.Timedout/i.test(message);
  return fail(
    'smart host',
    `probe through ${functionName}`,
    `the forward function failed (${kind}): ${message.slice(0, 300)}`,
    timedOut
      ? 'the function ran out of time before the probe ended: check its timeout and the VPC/NAT path, and its log group'
      : "read the forward function's log group (docs/deploy.md 10); an older deployment may lack the probe mode: deploy the current version",
  );
}

export function isProbeResult(value: unknown): value is ProbeResult {
  const result = value as Partial<ProbeResult> | null;
  return (
    typeof result === 'object' &&
    result !== null &&
    typeof result.ok === 'boolean' &&
    Array.isArray(result.steps) &&
    typeof result.host === 'string'
  );
}

export async function smartHostChecks(ctx: DoctorContext): Promise<Check[]> {
  const functionName = ctx.outputs.get('forwardFunctionName');
  if (!functionName) return [missingOutput('smart host', 'probe', 'forwardFunctionName')];
  const defaultRecipient = ctx.options.mailbox === undefined;
  const recipient = ctx.options.mailbox ?? (ctx.domains[0] ? `postmaster@${ctx.domains[0]}` : undefined);
  if (!recipient) return [missingOutput('smart host', 'probe', 'mailDomains')];
  const event: ForwardProbeEvent = { shadowmailProbe: { from: '', recipient } };
  // One attempt: a retried Invoke would run the probe again and hide a throttle.
  const lambda = new LambdaClient({
    region: ctx.region,
    maxAttempts: 1,
    requestHandler: { requestTimeout: INVOKE_TIMEOUT_MS, throwOnRequestTimeout: true },
  });
  try {
    const output = await lambda.send(
      new InvokeCommand({
        FunctionName: functionName,
        InvocationType: 'RequestResponse',
        Payload: new TextEncoder().encode(JSON.stringify(event)),
      }),
    );
    const payload = output.Payload ? new TextDecoder().decode(output.Payload) : '';
    if (output.FunctionError) return [functionErrorCheck(functionName, output.FunctionError, payload)];
    let result: unknown;
    try {
      result = JSON.parse(payload);
    } catch {
      result = null;
    }
    if (!isProbeResult(result)) {
      return [
        fail(
          'smart host',
          `probe through ${functionName}`,
          `the forward function did not answer with a probe result: ${payload.slice(0, 200) || '(empty)'}`,
          'deploy the current version of shadowmail: older forward functions have no probe mode',
        ),
      ];
    }
    return [probeCheck(result, recipient, defaultRecipient)];
  } catch (error) {
    const name = (error as { name?: string }).name ?? '';
    if (name === 'TooManyRequestsException') {
      return [
        fail(
          'smart host',
          `probe through ${functionName}`,
          `Lambda throttled the invocation: ${(error as Error).message}`,
          "the account's Lambda concurrency is exhausted in this region (see the concurrency line below); try again, and request a higher quota",
        ),
      ];
    }
    if (name === 'ResourceNotFoundException') {
      return [
        fail('smart host', `probe through ${functionName}`, 'the forward function does not exist', 'deploy the stateless stack again'),
      ];
    }
    if (name === 'TimeoutError' || /timed? ?out/i.test(String((error as Error).message))) {
      return [
        fail(
          'smart host',
          `probe through ${functionName}`,
          `no answer from the forward function within ${INVOKE_TIMEOUT_MS / 1000} s`,
          "read the forward function's log group; a function in a VPC needs its NAT gateway to reach the smart host",
        ),
      ];
    }
    return [callFailed('smart host', `probe through ${functionName}`, 'lambda:InvokeFunction', error)];
  } finally {
    lambda.destroy();
  }
}

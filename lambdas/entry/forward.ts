// Lambda entry point of the forward function (the stack bundles this file): an SQS batch
// goes to lambdas/handlers/forward.ts, an invoke with {shadowmailProbe: …} (from
// `shadowmail doctor`) to the smart-host probe of lambdas/handlers/forward-probe.ts. Each
// is wired once per execution environment (the smart-host secret is read per session).
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { createForwardHandler } from '../handlers/forward.ts';
import { createForwardProbeHandler } from '../handlers/forward-probe.ts';
import type { ForwardProbeEvent, ProbeResult } from '../ports/smtp-probe.ts';
import { awsForwardDeps, awsForwardProbeDeps } from '../wiring/aws-relay.ts';
import { lazyHandler } from './lazy.ts';

const forward = lazyHandler(async () => createForwardHandler(await awsForwardDeps()));
const probe = lazyHandler(async () => createForwardProbeHandler(await awsForwardProbeDeps()));

/**
 * An event with a `shadowmailProbe` key is a probe (its request is then checked, so a
 * malformed one gets a clear error, not an SQS one).
 */
export async function handler(event: SQSEvent | ForwardProbeEvent, context: Context): Promise<SQSBatchResponse | ProbeResult> {
  if (typeof event === 'object' && event !== null && 'shadowmailProbe' in event) return probe(event);
  return forward(event, context);
}

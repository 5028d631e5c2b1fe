// The custom resource that activates the stack's SES receipt rule set (onEvent handler
// of the CDK provider framework, which answers CloudFormation; entry point
// lambdas/entry/ses-rule-set-activation.ts): event validated here, decision in
// lambdas/core/ses-rule-set-activation.ts. A thrown error fails the deployment with its message.
import { z } from 'zod';
import { SERVICE } from '../contract/metrics.ts';
import { ACTIVATION_PROPERTIES } from '../contract/rule-set-activation.ts';
import { InvalidInputError } from '../core/errors.ts';
import { applyRuleSetActivation, type RuleSetActivationRequest } from '../core/ses-rule-set-activation.ts';
import type { ActiveRuleSetSwitch } from '../ports/ses-rule-set-switch.ts';
import { createObservability } from './observability.ts';

// SES: letters, digits, '.', '_' and '-', starting and ending with a letter or digit, at most 64.
const ruleSetName = z.string().regex(/^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,62}[A-Za-z0-9])?$/, 'an SES receipt rule set name');
// CloudFormation hands every property to a custom resource as a string.
const flag = z.union([z.boolean(), z.enum(['true', 'false']).transform((text) => text === 'true')]);
const properties = z.object({ [ACTIVATION_PROPERTIES.ruleSetName]: ruleSetName, [ACTIVATION_PROPERTIES.takeOver]: flag.default(false) });

const eventSchema = z.discriminatedUnion('RequestType', [
  z.object({ RequestType: z.literal('Create'), ResourceProperties: properties }),
  z.object({ RequestType: z.literal('Update'), ResourceProperties: properties, PhysicalResourceId: z.string().min(1) }),
  // A delete needs only the physical id: no property may keep a stack from being deleted.
  z.object({ RequestType: z.literal('Delete'), PhysicalResourceId: z.string().min(1) }),
]);

export interface ProviderResponse {
  PhysicalResourceId: string;
  Data: Record<string, string>;
}

export type RuleSetActivationHandler = (event: unknown) => Promise<ProviderResponse>;

/** The custom resource event → the core's request; anything else is refused with the problem named. */
export function parseActivationEvent(event: unknown): RuleSetActivationRequest {
  const parsed = eventSchema.safeParse(event);
  if (!parsed.success) throw new InvalidInputError(`not a rule-set activation event: ${z.prettifyError(parsed.error)}`);
  const request = parsed.data;
  switch (request.RequestType) {
    case 'Create':
      return {
        requestType: 'Create',
        ruleSetName: request.ResourceProperties.RuleSetName,
        takeOver: request.ResourceProperties.TakeOverActiveRuleSet,
      };
    case 'Update':
      return {
        requestType: 'Update',
        ruleSetName: request.ResourceProperties.RuleSetName,
        // The physical id is the set this resource activated; the old properties say the same unless a create failed.
        previousRuleSetName: request.PhysicalResourceId,
        takeOver: request.ResourceProperties.TakeOverActiveRuleSet,
      };
    case 'Delete':
      // The physical id, not the properties: after a failed create it is no rule set name, and nothing is deactivated.
      return { requestType: 'Delete', ruleSetName: request.PhysicalResourceId, takeOver: false };
  }
}

export function createRuleSetActivationHandler(
  rules: ActiveRuleSetSwitch,
  logger = createObservability(SERVICE.ruleSetActivation).logger,
): RuleSetActivationHandler {
  return async (event) => {
    const request = parseActivationEvent(event);
    try {
      const outcome = await applyRuleSetActivation(request, rules);
      logger.info(outcome.summary, { requestType: request.requestType, ruleSetName: request.ruleSetName });
      return { PhysicalResourceId: outcome.physicalResourceId, Data: outcome.data };
    } catch (error) {
      logger.error('rule set activation failed', { requestType: request.requestType, ruleSetName: request.ruleSetName, error });
      throw error;
    }
  };
}

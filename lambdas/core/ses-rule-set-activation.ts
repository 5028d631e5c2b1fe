// Which SES receipt rule set is active: SES allows one per account and region,
// and CloudFormation cannot switch it, so a custom resource does. The decision
// is here, free of SDKs: activate ours when nothing or our own earlier set is
// active, refuse to silently replace somebody else's set unless told to, and on
// delete deactivate only if ours is still the active one.
import type { ActiveRuleSetSwitch } from '../ports/ses-rule-set-switch.ts';
import { InvalidInputError } from './errors.ts';

/** The configuration key that allows replacing a foreign active rule set (named in the refusal). */
export const TAKE_OVER_SETTING = 'shadowmail.ses.takeOverActiveRuleSet';

export interface RuleSetActivationRequest {
  requestType: 'Create' | 'Update' | 'Delete';
  /** Create/Update: the rule set to activate. Delete: the one this resource activated (its physical id). */
  ruleSetName: string;
  /** Update only: the name the resource had before, still "ours" if it is the active one. */
  previousRuleSetName?: string;
  /** Replace a different active rule set instead of failing the deployment. */
  takeOver: boolean;
}

export type ActivationPlan =
  | { action: 'activate'; ruleSetName: string; replacing?: string }
  | { action: 'deactivate'; ruleSetName: string }
  | { action: 'none'; reason: string }
  | { action: 'refuse'; message: string };

/** The decision alone: what to do given the request and the rule set active now (undefined: none). */
export function planRuleSetActivation(request: RuleSetActivationRequest, activeRuleSet: string | undefined): ActivationPlan {
  const { ruleSetName } = request;
  if (request.requestType === 'Delete') {
    return activeRuleSet === ruleSetName
      ? { action: 'deactivate', ruleSetName }
      : {
          action: 'none',
          reason: `${quote(ruleSetName)} is not the active rule set (active: ${describe(activeRuleSet)}); nothing to deactivate`,
        };
  }
  if (activeRuleSet === ruleSetName) return { action: 'none', reason: `${quote(ruleSetName)} is already active` };
  if (activeRuleSet === undefined || activeRuleSet === request.previousRuleSetName) {
    return activeRuleSet === undefined
      ? { action: 'activate', ruleSetName }
      : { action: 'activate', ruleSetName, replacing: activeRuleSet };
  }
  if (request.takeOver) return { action: 'activate', ruleSetName, replacing: activeRuleSet };
  return {
    action: 'refuse',
    message:
      `SES receipt rule set ${quote(activeRuleSet)} is active in this account and region. SES allows only one active rule set per region: ` +
      `activating ${quote(ruleSetName)} would stop every rule of ${quote(activeRuleSet)}. Move its rules into ${quote(ruleSetName)} ` +
      `or deploy to another region, or set ${TAKE_OVER_SETTING} to true to replace it.`,
  };
}

export interface ActivationOutcome {
  /** What CloudFormation keeps as the resource's physical id: the rule set this resource manages. */
  physicalResourceId: string;
  /** The rule set active after the request ('' for none) and the one it replaced ('' for none). */
  data: { ActiveRuleSet: string; ReplacedRuleSet: string };
  /** One line for the log. */
  summary: string;
}

/** Reads the active rule set, decides, and switches; a refusal is an InvalidInputError (the deployment fails with its message). */
export async function applyRuleSetActivation(request: RuleSetActivationRequest, rules: ActiveRuleSetSwitch): Promise<ActivationOutcome> {
  const active = await rules.active();
  const plan = planRuleSetActivation(request, active);
  switch (plan.action) {
    case 'refuse':
      throw new InvalidInputError(plan.message);
    case 'activate':
      await rules.activate(plan.ruleSetName);
      return outcome(
        request,
        plan.ruleSetName,
        plan.replacing,
        `activated ${quote(plan.ruleSetName)}${plan.replacing ? ` in place of ${quote(plan.replacing)}` : ''}`,
      );
    case 'deactivate':
      await rules.deactivate();
      return outcome(request, undefined, undefined, `deactivated ${quote(plan.ruleSetName)}`);
    case 'none':
      return outcome(request, active, undefined, plan.reason);
  }
}

function outcome(
  request: RuleSetActivationRequest,
  activeAfter: string | undefined,
  replaced: string | undefined,
  summary: string,
): ActivationOutcome {
  return { physicalResourceId: request.ruleSetName, data: { ActiveRuleSet: activeAfter ?? '', ReplacedRuleSet: replaced ?? '' }, summary };
}

const quote = (name: string) => `"${name}"`;
const describe = (name: string | undefined) => (name === undefined ? 'none' : quote(name));

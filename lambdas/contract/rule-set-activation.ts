// The properties of the custom resource that activates the stack's SES receipt rule set:
// the construct (lib/constructs/inbound-mail.ts) sets them, the handler
// (lambdas/handlers/ses-rule-set-activation.ts) reads them.

export const ACTIVATION_PROPERTIES = { ruleSetName: 'RuleSetName', takeOver: 'TakeOverActiveRuleSet' } as const;

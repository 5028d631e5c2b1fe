// The account's active SES receipt rule set (one per region): read it, switch
// it to a named set, or switch receiving rules off altogether.
export interface ActiveRuleSetSwitch {
  /** The name of the active rule set, undefined when none is active. */
  active(): Promise<string | undefined>;
  activate(ruleSetName: string): Promise<void>;
  /** Leaves no rule set active: no receipt rule of the account applies in this region any more. */
  deactivate(): Promise<void>;
}

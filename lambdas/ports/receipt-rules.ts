// The receipt rules of one SES receipt rule set, as `directory sync` keeps its address rules
// there and doctor reads them: list the set's rules, write one rule with the settings and
// actions of another rule of the set (the stack's own), delete one.
import type { OwnedRule } from '../core/receipt-recipients.ts';

export interface ListedReceiptRule {
  name: string;
  recipients: string[];
  /** Enabled, spam scan, TLS policy and actions in one comparable form: equal strings, same behaviour. */
  settings: string;
}

export interface ReceiptRules {
  /** Where the rules are, for messages: `rule set <name> (<region>)`. */
  readonly description: string;
  /** The set's rules in their order; null when the set does not exist. */
  list(): Promise<ListedReceiptRule[] | null>;
  /** Creates `rule` after the rule `after`, with the settings and actions of the rule `like`. */
  create(rule: OwnedRule, options: { after: string; like: string }): Promise<void>;
  /** Sets `rule`'s recipients, and the settings and actions of the rule `like`. */
  update(rule: OwnedRule, options: { like: string }): Promise<void>;
  remove(name: string): Promise<void>;
}

// doctor, SES receipt rules against the directory (issue 17, docs/deploy.md §8.6): whether SES
// refuses unknown recipients (the stack's rule narrowed by inbound.recipientCheck), which domains
// it takes whole and why (the stack's rule: catch-all; the sync's fallback rule: separator or
// beyond the limit), the directory's addresses no rule lists (refused by SES once the check is
// on) and the addresses listed that the directory no longer has, and the set's rule count
// against SES's limit. Checks are pure functions of what SES and the table answered.

import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SESClient } from '@aws-sdk/client-ses';
import { DynamoDbDirectoryStore } from '../../../lambdas/adapters/aws/dynamodb-directory-store.ts';
import { SesReceiptRules } from '../../../lambdas/adapters/aws/ses-receipt-rules.ts';
import { type ReceiptRuleNames, receiptRuleNamesOfSet, SES_RECEIPT_RULE_LIMITS } from '../../../lambdas/contract/receipt-rules.ts';
import { addressesOf, domainOf } from '../../../lambdas/core/addresses.ts';
import type { DirectoryUser } from '../../../lambdas/core/model.ts';
import { fallbackRuleName } from '../../../lambdas/core/receipt-recipients.ts';
import type { ListedReceiptRule } from '../../../lambdas/ports/receipt-rules.ts';
import { cliAwsConfig } from '../aws-clients.ts';
import { type Check, callFailed, fail, ok, warn } from './check.ts';
import { type DoctorContext, missingOutput } from './context.ts';

const SHOWN = 10;
const FIX_SYNC = 'run `shadowmail directory sync … --receipt-rule-set <ReceiptRuleSetName>` (docs/deploy.md 8.6)';

export interface ReceiptRulesInput {
  rules: readonly ListedReceiptRule[];
  names: ReceiptRuleNames;
  domains: readonly string[];
  users: readonly Pick<DirectoryUser, 'mailbox' | 'aliases'>[];
}

export function receiptRulesChecks({ rules, names, domains, users }: ReceiptRulesInput): Check[] {
  const store = rules.find((rule) => rule.name === names.storeRule);
  if (store === undefined) {
    return [
      fail(
        'ses',
        'recipient check',
        `the rule set has no rule ${names.storeRule}: it is not this stack's`,
        'deploy the stateless stack again',
      ),
    ];
  }
  const fallback = rules.find((rule) => rule.name === fallbackRuleName(names.directoryRulePrefix));
  const addressRules = rules.filter((rule) => rule.name.startsWith(names.directoryRulePrefix) && rule !== fallback);
  const byStore = domains.filter((domain) => store.recipients.includes(domain));
  const byFallback = domains.filter((domain) => !byStore.includes(domain) && (fallback?.recipients ?? []).includes(domain));
  const whole = new Set([...byStore, ...byFallback]);
  const listed = new Set(addressRules.flatMap((rule) => rule.recipients));
  const wanted = new Set(
    users.flatMap((user) => addressesOf(user)).filter((address) => domains.includes(domainOf(address)) && !whole.has(domainOf(address))),
  );
  const missing = [...wanted].filter((address) => !listed.has(address)).sort();
  const extra = [...listed].filter((address) => !wanted.has(address)).sort();
  const checkOn = byStore.length < domains.length;
  const shown = (list: string[]) => `${list.slice(0, SHOWN).join(', ')}${list.length > SHOWN ? ` and ${list.length - SHOWN} more` : ''}`;
  const checks: Check[] = [];

  const wholeText = [
    ...byStore.map((domain) => `${domain} (stack rule${checkOn ? ': catch-all' : ''})`),
    ...byFallback.map((domain) => `${domain} (fallback rule of the sync)`),
  ].join(', ');
  checks.push(
    checkOn
      ? ok('ses', 'recipient check', `on: SES refuses addresses no rule lists; taken whole: ${wholeText || 'none'}`)
      : warn(
          'ses',
          'recipient check',
          'off: SES takes every address of every domain; Exchange refuses the unknown ones after SES accepted them, and shadowmail sends the report',
          `${FIX_SYNC}, then set "inbound": {"recipientCheck": true} and deploy`,
        ),
  );

  const name = 'receipt rules vs directory';
  if (missing.length > 0) {
    const what = `${missing.length} address${missing.length === 1 ? '' : 'es'} of the directory in no rule: ${shown(missing)}`;
    checks.push(
      checkOn
        ? fail('ses', name, `${what}; SES refuses mail to them`, FIX_SYNC)
        : warn('ses', name, `${what}; SES would refuse mail to them once the recipient check is on`, FIX_SYNC),
    );
  } else if (extra.length > 0) {
    checks.push(
      warn(
        'ses',
        name,
        `${extra.length} address${extra.length === 1 ? '' : 'es'} in rules but not in the directory: ${shown(extra)}`,
        FIX_SYNC,
      ),
    );
  } else {
    checks.push(ok('ses', name, `${listed.size} addresses in ${addressRules.length} rules, as the directory says`));
  }

  const limit = SES_RECEIPT_RULE_LIMITS.rulesPerRuleSet;
  const count = `${rules.length} rules of at most ${limit} a rule set`;
  checks.push(
    rules.length >= limit * 0.9
      ? warn(
          'ses',
          'receipt rule count',
          `${count}: the next directory growth takes whole domains`,
          'expect domains taken whole, or ask AWS whether the quota can be raised',
        )
      : ok('ses', 'receipt rule count', count),
  );
  return checks;
}

export async function receiptRuleChecks(ctx: DoctorContext): Promise<Check[]> {
  const ruleSet = ctx.outputs.get('receiptRuleSetName');
  const names = ruleSet ? receiptRuleNamesOfSet(ruleSet) : null;
  if (!ruleSet || names === null) return []; // the rule set check already says so
  const table = ctx.outputs.get('tableName');
  if (!table) return [missingOutput('ses', 'receipt rules vs directory', 'tableName')];
  const ses = new SESClient(cliAwsConfig(ctx.region));
  const dynamo = new DynamoDBClient(cliAwsConfig(ctx.region));
  try {
    let rules: ListedReceiptRule[] | null;
    try {
      rules = await new SesReceiptRules(ses, ruleSet, ctx.region).list();
    } catch (error) {
      return [callFailed('ses', 'recipient check', 'ses:DescribeReceiptRuleSet', error)];
    }
    if (rules === null) return [];
    let users: DirectoryUser[];
    try {
      users = (await new DynamoDbDirectoryStore({ client: dynamo, tableName: table }).readState()).users;
    } catch (error) {
      return [callFailed('ses', 'receipt rules vs directory', 'dynamodb:Query', error)];
    }
    return receiptRulesChecks({ rules, names, domains: ctx.domains, users });
  } finally {
    ses.destroy();
    dynamo.destroy();
  }
}

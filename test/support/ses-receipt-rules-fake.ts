// SES v1's receipt rule calls (awsQuery XML, API version 2010-12-01) for the fake AWS server
// (doctor-aws-fakes.ts routes them here): rule sets holding ordered rules, with SES's rules as
// the API Reference states them — CreateReceiptRule places the rule after `After` (first without
// it) and refuses a taken name (AlreadyExists), an unknown set (RuleSetDoesNotExist) or a rule
// beyond the set's limit (LimitExceeded); UpdateReceiptRule needs the rule (RuleDoesNotExist);
// each write "no more than once per second" (Throttling otherwise; reads are not held to it here,
// so doctor's runs in a row stay independent).
import { randomUUID } from 'node:crypto';
import { xml } from './aws-query-xml.ts';

/** A rule as DescribeReceiptRuleSet answers it: Name, Enabled, Recipients, Actions, ScanEnabled, TlsPolicy. */
export type FakeReceiptRule = Record<string, unknown> & { Name: string; Recipients?: string[] };

export interface SesReceiptRulesFake {
  /** Rule set name → its rules in order. */
  ruleSets: Map<string, FakeReceiptRule[]>;
  /** Rules a set may hold (SES's quota). */
  maxRulesPerSet: number;
  /** Writes closer together than this are refused with Throttling (0: never). */
  minIntervalMs: number;
  /** Every write in order: action and rule name. */
  writes: Array<{ action: string; rule: string }>;
  /** The next call with this action answers this error once. */
  failNext: Map<string, { code: string; message: string }>;
  /** The XML answer to a receipt rule call, or null when the action is not one. */
  handle(action: string, form: Record<string, string>): { status: number; body: string } | null;
}

const XMLNS = 'http://ses.amazonaws.com/doc/2010-12-01/';
const ACTIONS = new Set(['DescribeReceiptRuleSet', 'CreateReceiptRule', 'UpdateReceiptRule', 'DeleteReceiptRule']);

export function createSesReceiptRulesFake(): SesReceiptRulesFake {
  let lastCall = 0;
  const fake: SesReceiptRulesFake = {
    ruleSets: new Map(),
    maxRulesPerSet: 200,
    minIntervalMs: 1000,
    writes: [],
    failNext: new Map(),
    handle(action, form) {
      if (!ACTIONS.has(action)) return null;
      if (action !== 'DescribeReceiptRuleSet') {
        const now = Date.now();
        if (fake.minIntervalMs > 0 && now - lastCall < fake.minIntervalMs) return error('Throttling', 'Rate exceeded');
        lastCall = now;
      }
      const failure = fake.failNext.get(action);
      if (failure) {
        fake.failNext.delete(action);
        return error(failure.code, failure.message);
      }
      const request = unflatten(form);
      const rules = fake.ruleSets.get(String(request.RuleSetName));
      if (!rules) return error('RuleSetDoesNotExist', `Rule set does not exist: ${String(request.RuleSetName)}`);
      if (action === 'DescribeReceiptRuleSet') {
        const metadata = `<Metadata><Name>${xml(String(request.RuleSetName))}</Name><CreatedTimestamp>2030-01-01T00:00:00Z</CreatedTimestamp></Metadata>`;
        return answer(action, `${metadata}<Rules>${rules.map((rule) => `<member>${toXml(rule)}</member>`).join('')}</Rules>`);
      }
      if (action === 'DeleteReceiptRule') {
        const at = rules.findIndex((rule) => rule.Name === request.RuleName);
        if (at >= 0) rules.splice(at, 1);
        fake.writes.push({ action, rule: String(request.RuleName) });
        return answer(action, '');
      }
      const rule = request.Rule as FakeReceiptRule;
      const at = rules.findIndex((existing) => existing.Name === rule.Name);
      if (action === 'UpdateReceiptRule') {
        if (at < 0) return error('RuleDoesNotExist', `Rule does not exist: ${rule.Name}`);
        rules[at] = rule;
      } else {
        if (at >= 0) return error('AlreadyExists', `Rule ${rule.Name} already exists`);
        if (rules.length >= fake.maxRulesPerSet) return error('LimitExceeded', 'Maximum number of receipt rules reached');
        const after = request.After === undefined ? -1 : rules.findIndex((existing) => existing.Name === request.After);
        if (request.After !== undefined && after < 0) return error('RuleDoesNotExist', `Rule does not exist: ${String(request.After)}`);
        rules.splice(after + 1, 0, rule);
      }
      fake.writes.push({ action, rule: rule.Name });
      return answer(action, '');
    },
  };
  return fake;
}

function answer(action: string, result: string) {
  return {
    status: 200,
    body:
      `<${action}Response xmlns="${XMLNS}"><${action}Result>${result}</${action}Result>` +
      `<ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></${action}Response>`,
  };
}

function error(code: string, message: string) {
  return {
    status: 400,
    body: `<ErrorResponse xmlns="${XMLNS}"><Error><Type>Sender</Type><Code>${code}</Code><Message>${xml(message)}</Message></Error><RequestId>${randomUUID()}</RequestId></ErrorResponse>`,
  };
}

/** awsQuery form keys (`Rule.Recipients.member.1`, `Rule.Enabled`) into objects, `member.N` into arrays, 'true'/'false' into booleans. */
function unflatten(form: Record<string, string>): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  for (const [key, text] of Object.entries(form)) {
    const tokens: Array<string | number> = [];
    const parts = key.split('.');
    for (let i = 0; i < parts.length; i++) tokens.push(parts[i] === 'member' ? Number(parts[++i]) - 1 : parts[i]!);
    let node = root as Record<string | number, unknown>;
    tokens.forEach((token, i) => {
      if (i === tokens.length - 1) node[token] = text === 'true' ? true : text === 'false' ? false : text;
      else {
        node[token] ??= typeof tokens[i + 1] === 'number' ? [] : {};
        node = node[token] as Record<string | number, unknown>;
      }
    });
  }
  return root;
}

/** An object as awsQuery response XML: arrays as <member> lists. */
function toXml(value: Record<string, unknown>): string {
  return Object.entries(value)
    .map(([key, child]) => {
      if (Array.isArray(child)) {
        const members = child.map(
          (item) => `<member>${typeof item === 'object' ? toXml(item as Record<string, unknown>) : xml(String(item))}</member>`,
        );
        return `<${key}>${members.join('')}</${key}>`;
      }
      if (child !== null && typeof child === 'object') return `<${key}>${toXml(child as Record<string, unknown>)}</${key}>`;
      return `<${key}>${xml(String(child))}</${key}>`;
    })
    .join('');
}

// `shadowmail cost`: the monthly AWS cost of a deployment for a given company size,
// line by line (SES receiving, S3, DynamoDB, Lambda, SQS, API Gateway, Cognito, KMS,
// CloudWatch, the optional NAT gateway and CloudFront + WAF), with the total, the cost per user, and
// where every price and every per-message figure comes from (cost/cost-model.ts).
import { parseArgs } from 'node:util';
import { COST_DEFAULTS, type CostEstimate, CostInputError, type CostInputs, estimateMonthlyCost } from '../../cost/cost-model.ts';
import { command, EXIT, exitStatusHelp, UsageError } from './command.ts';

export const COST_USAGE = `usage:
  shadowmail cost [--users N] [--messages-per-user N] [--size-kb N] [--retention-days N]
                  [--region R] [--nat] [--failover-hours N] [--recipients-per-message N]
                  [--admins N] [--code-sign-in-share N] [--sms-notices] [--sms-price USD] [--waf] [--json]

  Estimates the monthly AWS bill of one deployment from the dated price table in
  cost/aws-prices.json and the per-message DynamoDB units measured in
  cost/measured-capacity.json. Free tiers are left out.

  --users N                  mailboxes covered (default 100)
  --messages-per-user N      inbound messages per user and month (default ${COST_DEFAULTS.messagesPerUserPerMonth})
  --size-kb N                average message size in KB (default ${COST_DEFAULTS.averageSizeKB})
  --retention-days N         how long mail is kept (default ${COST_DEFAULTS.retentionDays})
  --region R                 eu-west-1 or us-east-1 (default ${COST_DEFAULTS.region})
  --nat                      forward through a NAT gateway with a fixed IP
  --failover-hours N         hours a month with failover on: users on the webmail (default ${COST_DEFAULTS.failoverHoursPerMonth})
  --recipients-per-message N average envelope recipients of a received message (default ${COST_DEFAULTS.recipientsPerMessage})
  --admins N                 admins using the console in a normal month (default ${COST_DEFAULTS.admins})
  --code-sign-in-share N     share (0 to 1) of the webmail users who sign in with an SMS code because
                             AD FS is down too (default ${COST_DEFAULTS.codeSignInShare}): Cognito Essentials users and one SMS a day each
  --sms-notices              failover notices by SMS to every user (breakGlass.notices.sms): two per failover month
  --sms-price USD            price of one SMS part at the destination (default: the price table's, Germany)
  --waf                      CloudFront + WAF in front of the webmail (webmail.waf)
  --json                     the whole estimate as JSON
${exitStatusHelp()}`;

const DEFAULT_USERS = 100;

export const costCommand = command('cost', COST_USAGE, async (argv, out) => {
  const { inputs, json } = parseCostArgs(argv);
  let estimate: CostEstimate;
  try {
    estimate = estimateMonthlyCost(inputs);
  } catch (error) {
    // The model names its input field; the user typed the flag.
    if (!(error instanceof CostInputError)) throw error;
    throw new UsageError(`${FLAG_OF[error.field] ?? error.field}: ${error.message.slice(error.field.length + 2)}`);
  }
  out.write(json ? `${JSON.stringify(estimate, null, 2)}\n` : formatEstimate(estimate));
  return EXIT.ok;
});

const NUMBER_OPTIONS = {
  users: 'users',
  'messages-per-user': 'messagesPerUserPerMonth',
  'size-kb': 'averageSizeKB',
  'retention-days': 'retentionDays',
  'failover-hours': 'failoverHoursPerMonth',
  'recipients-per-message': 'recipientsPerMessage',
  admins: 'admins',
  'code-sign-in-share': 'codeSignInShare',
  'sms-price': 'smsPriceUSD',
} as const satisfies Record<string, keyof CostInputs>;

/** The flag that sets a model input, for error messages. */
const FLAG_OF: Record<string, string> = {
  ...Object.fromEntries(Object.entries(NUMBER_OPTIONS).map(([flag, field]) => [field, `--${flag}`])),
  region: '--region',
};

function parseCostArgs(argv: string[]): { inputs: CostInputs; json: boolean } {
  const parsed = parseArgs({
    args: argv,
    options: {
      ...Object.fromEntries(Object.keys(NUMBER_OPTIONS).map((name) => [name, { type: 'string' as const }])),
      region: { type: 'string' },
      nat: { type: 'boolean', default: false },
      'sms-notices': { type: 'boolean', default: false },
      waf: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
    allowPositionals: true,
    strict: true,
  });
  const values = parsed.values as Record<string, string | boolean | undefined>;
  const positionals = parsed.positionals;
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  const inputs: CostInputs = {
    users: DEFAULT_USERS,
    natGateway: values.nat === true,
    smsNotices: values['sms-notices'] === true,
    waf: values.waf === true,
  };
  for (const [flag, field] of Object.entries(NUMBER_OPTIONS)) {
    const text = values[flag];
    if (typeof text !== 'string') continue;
    const value = Number(text.replace(/[_,](?=\d{3}\b)/g, ''));
    if (text.trim() === '' || !Number.isFinite(value)) throw new UsageError(`--${flag} must be a number, not ${JSON.stringify(text)}`);
    (inputs as unknown as Record<string, number>)[field] = value;
  }
  if (typeof values.region === 'string') inputs.region = values.region;
  return { inputs, json: values.json === true };
}

// ---- text output -----------------------------------------------------------------------

function money(value: number): string {
  return value.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
}

/** Up to four significant digits, without exponent notation. */
function amount(value: number): string {
  if (value === 0) return '0';
  const digits = Math.max(0, Math.min(6, 3 - Math.floor(Math.log10(Math.abs(value)))));
  return value.toLocaleString('en-US', { maximumFractionDigits: digits });
}

/** A unit price as the price table has it, never in exponent notation. */
function price(value: number): string {
  return value.toLocaleString('en-US', { maximumFractionDigits: 10 });
}

function table(rows: string[][], rightAligned: Set<number>): string {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length)));
  return rows
    .map((row) =>
      row
        .map((cell, column) => (rightAligned.has(column) ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export function formatEstimate(estimate: CostEstimate): string {
  const { inputs } = estimate;
  const lines: string[] = [];
  lines.push(
    `shadowmail cost: monthly AWS estimate for ${inputs.users.toLocaleString('en-US')} users in ${inputs.region} (${estimate.regionName})`,
    `${inputs.messagesPerUserPerMonth.toLocaleString('en-US')} inbound messages per user and month, ${inputs.averageSizeKB} KB average, ` +
      `${inputs.recipientsPerMessage} recipient(s) per message, ${inputs.retentionDays} days retention, ` +
      `${inputs.natGateway ? 'NAT gateway' : 'no NAT gateway'}, ${inputs.waf ? 'CloudFront + WAF' : 'no WAF'}, ${inputs.failoverHoursPerMonth} h failover, ${inputs.admins} admins`,
    '',
  );
  const rows = [['service', 'item', 'quantity', 'unit', 'USD/unit', 'USD/month']];
  for (const line of estimate.lineItems) {
    rows.push([line.service, line.item, amount(line.quantity), line.unit, price(line.unitPrice), money(line.monthlyUSD)]);
  }
  rows.push(
    ['', '', '', '', '', ''],
    ['total', '', '', '', '', money(estimate.totalUSD)],
    ['per user', '', '', '', '', money(estimate.perUserUSD)],
  );
  lines.push(table(rows, new Set([2, 4, 5])), '');

  lines.push('By service:');
  for (const [service, usd] of Object.entries(estimate.byService).sort((a, b) => b[1] - a[1])) {
    lines.push(`  ${service.padEnd(16)} ${money(usd).padStart(10)}`);
  }
  const { sms } = estimate;
  lines.push(
    '',
    `SMS (break-glass codes and notices) at ${price(sms.pricePerPartUSD)} USD per part, ${sms.priceFrom}:`,
    `  per outage day ${money(sms.perOutageDayUSD)} USD: ${amount(sms.codePartsPerOutageDay)} sign-in codes + ${amount(sms.noticePartsPerFailover)} notice parts (on and off)`,
  );
  lines.push('', 'How each quantity came about:');
  for (const line of estimate.lineItems) lines.push(`  ${line.service} / ${line.item}: ${line.note}`);

  lines.push(
    '',
    `Prices: cost/aws-prices.json, checked ${estimate.priceTable.checkedOn} (how each value was confirmed: its "status" there).`,
    `Free tiers: ${estimate.priceTable.freeTier}`,
    'Sources:',
    ...[...new Set(estimate.priceTable.sources.map((source) => `  ${source.service.padEnd(16)} ${source.source}`))],
    '',
    `Measured per message: cost/measured-capacity.json (${estimate.measured.measuredAt}), ${estimate.measured.messageMix}.`,
    `Lambda CPU: ${estimate.measured.lambdaCpu}; AWS latencies, SMTP session, webmail habits: assumed (cost/cost-model.ts ASSUMPTIONS, --json shows them).`,
  );
  return `${lines.join('\n')}\n`;
}

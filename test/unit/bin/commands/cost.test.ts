// `shadowmail cost` on the command line (bin/commands/cost.ts): the table shows every
// line item with the total, per user, the price table's date and sources; --json is the
// whole estimate; bad flags answer exit code 2 with a message and the usage.
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { costCommand } from '../../../../bin/commands/cost.ts';
import { type CostEstimate, estimateMonthlyCost } from '../../../../cost/cost-model.ts';

function collector(): Writable & { text(): string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      chunks.push(String(chunk));
      done();
    },
  });
  return Object.assign(stream, { text: () => chunks.join('') });
}

async function run(argv: string[]) {
  const out = collector();
  const err = collector();
  const code = await costCommand(argv, out, err);
  return { code, out: out.text(), err: err.text() };
}

describe('shadowmail cost', () => {
  it('prints every line item, the total, the cost per user, the price date and the sources', async () => {
    // Prepare: the options that make every kind of line appear
    const argv = ['--users', '250', '--nat', '--waf', '--failover-hours', '4', '--region', 'us-east-1'];
    const expected = estimateMonthlyCost({ users: 250, natGateway: true, waf: true, failoverHoursPerMonth: 4, region: 'us-east-1' });

    // Act
    const { code, out, err } = await run(argv);

    // Assess
    expect(code).toBe(0);
    expect(err).toBe('');
    const rows = out.split('\n');
    for (const item of expected.lineItems) {
      const row = rows.find((text) => text.startsWith(item.service) && text.includes(` ${item.item} `));
      expect(row, `${item.service} / ${item.item}`).toBeDefined();
      expect(row).toContain(item.monthlyUSD.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 }));
    }
    expect(rows.find((text) => text.startsWith('total'))).toContain(expected.totalUSD.toFixed(2));
    expect(rows.find((text) => text.startsWith('per user'))).toContain(expected.perUserUSD.toFixed(2));
    expect(out).toContain('checked 2026-11-28');
    expect(out).toContain('https://aws.amazon.com/ses/pricing/');
    expect(out).toContain('https://aws.amazon.com/vpc/pricing/');
    expect(out).toContain('https://aws.amazon.com/waf/pricing/');
    expect(out).toContain('CloudFront + WAF');
    expect(out).toContain('Free tiers: Ignored');
  });

  it('prices break-glass sign-ins and SMS notices with the price given, and prints the cost of an outage day', async () => {
    const argv = ['--users', '100', '--failover-hours', '8', '--code-sign-in-share', '0.5', '--sms-notices', '--sms-price', '0.05'];
    const expected = estimateMonthlyCost({
      users: 100,
      failoverHoursPerMonth: 8,
      codeSignInShare: 0.5,
      smsNotices: true,
      smsPriceUSD: 0.05,
    });

    const { code, out } = await run(argv);

    expect(code).toBe(0);
    expect(expected.sms.perOutageDayUSD).toBeCloseTo((50 + 400) * 0.05, 10);
    expect(out).toMatch(/SMS {2,}SMS sign-in codes {2,}50 {2,}message part {2,}0\.05 {2,}2\.50/);
    expect(out).toMatch(/SMS {2,}SMS failover notices {2,}400 /);
    expect(out).toContain('per outage day 22.50 USD: 50 sign-in codes + 400 notice parts');
    expect(out).toContain('https://aws.amazon.com/end-user-messaging/pricing/');
  });

  it('writes the whole estimate as JSON with --json', async () => {
    const { code, out } = await run(['--users', '50', '--json']);

    expect(code).toBe(0);
    const parsed = JSON.parse(out) as CostEstimate;
    const expected = estimateMonthlyCost({ users: 50 });
    expect(parsed.inputs.users).toBe(50);
    expect(parsed.lineItems.map((item) => `${item.service}/${item.item}`)).toEqual(
      expected.lineItems.map((item) => `${item.service}/${item.item}`),
    );
    expect(parsed.totalUSD).toBeCloseTo(expected.totalUSD, 10);
    expect(parsed.priceTable.checkedOn).toBe('2026-11-28');
  });

  it('assumes 100 users when --users is not given', async () => {
    const { code, out } = await run(['--json']);

    expect(code).toBe(0);
    expect((JSON.parse(out) as CostEstimate).inputs.users).toBe(100);
  });

  it.each([
    [['--users', 'many'], '--users must be a number, not "many"'],
    [['--users', '0'], '--users: at least 1'],
    [['--size-kb=-5'], '--size-kb: at least 1 KB'],
    [['--failover-hours', '1000'], '--failover-hours: at most 730'],
    [['--region', 'mars-1'], '--region: no prices for "mars-1"'],
    [['--code-sign-in-share', '2'], '--code-sign-in-share: to 1'],
    [['--sms-price', 'cheap'], '--sms-price must be a number, not "cheap"'],
    [['--bogus'], "Unknown option '--bogus'"],
    [['--users'], "Option '--users <value>' argument missing"],
    [['250'], 'unexpected argument "250"'],
  ])('answers %j with exit code 2 and says why', async (argv, message) => {
    const { code, out, err } = await run(argv);

    expect(code).toBe(2);
    expect(out).toBe('');
    expect(err).toContain(message);
    expect(err).toContain('usage:');
  });

  it('prints its usage for --help', async () => {
    const { code, out } = await run(['--help']);

    expect(code).toBe(0);
    expect(out).toContain('shadowmail cost [--users N]');
  });
});

// The cost model (cost/cost-model.ts): its arithmetic checked by hand against the
// price table and the measured units, its behaviour as inputs grow, the NAT gateway's
// fixed cost, the outage retries, and clear refusals of bad input.
import { describe, expect, it } from 'vitest';
import prices from '../../../cost/aws-prices.json' with { type: 'json' };
import {
  ASSUMPTIONS,
  type CostEstimate,
  CostInputError,
  DEPLOYMENT,
  estimateMonthlyCost,
  MODEL_DATA,
  meanDeferredAttempts,
  type PriceKey,
} from '../../../cost/cost-model.ts';
import measured from '../../../cost/measured-capacity.json' with { type: 'json' };
import { WEBMAIL_LIMITS } from '../../../lib/constructs/webmail.ts';

const REGION = 'eu-west-1';
const price = (key: PriceKey) => (prices.prices[key].usd as Record<string, number>)[REGION]!;
const line = (estimate: CostEstimate, service: string, item: string) => {
  const found = estimate.lineItems.find((entry) => entry.service === service && entry.item === item);
  if (!found) throw new Error(`no line ${service} / ${item}`);
  return found;
};

describe('cost model arithmetic', () => {
  it('bills the Lambda time of DynamoDB round trips the handler waits, not of requests sent together (issue 18)', () => {
    // Prepare: the measured file, and the same without waits (a file measured before they were counted)
    const waits = measured.perMessage.forwardDelivered.dynamoDbRoundTripWaits;
    const requests = measured.perMessage.forwardDelivered.dynamoDbRequests;
    const withoutWaits = structuredClone(MODEL_DATA);
    delete withoutWaits.measured.perMessage.forwardDelivered.dynamoDbRoundTripWaits;
    const inputs = { users: 10, recipientsPerMessage: 3 };

    // Act
    const estimate = estimateMonthlyCost(inputs);
    const older = estimateMonthlyCost(inputs, withoutWaits);

    // Assess: 3 recipients wait fewer round trips than they send requests, by exactly that many × the assumed latency
    const saved = (requests.base + 3 * requests.perRecipient - (waits.base + 3 * waits.perRecipient)) * ASSUMPTIONS.dynamoDbRequestMs;
    expect(saved).toBeGreaterThan(0);
    const seconds = (estimate: CostEstimate) => line(estimate, 'Lambda', 'duration, forward').quantity;
    const messages = line(estimate, 'SES', 'emails received').quantity * 1000;
    expect(seconds(older) - seconds(estimate)).toBeCloseTo(((messages * saved) / 1000) * (DEPLOYMENT.forwardMemoryMiB / 1024), 6);
  });

  it('prices a 10-user company as worked out by hand from the price table', () => {
    // Prepare: 10 users × 1,100 messages of 75 KB, one recipient each, 28 days, eu-west-1
    const messages = 10 * 1100;
    const days = 28 + 2; // retention + the raw-mail bucket's expiry margin
    const messagesPerDay = messages / (730 / 24);
    const ingest = measured.perMessage.ingest;
    const forward = measured.perMessage.forwardDelivered;

    // Act
    const estimate = estimateMonthlyCost({ users: 10 });

    // Assess: SES receiving, worked out by hand ($0.10 and $0.09 per 1,000): 11 × 0.10 and 11 × 0.09
    expect(line(estimate, 'SES', 'emails received').monthlyUSD).toBeCloseTo(1.1, 10);
    expect(line(estimate, 'SES', 'incoming mail chunks (256 KB)').monthlyUSD).toBeCloseTo(0.99, 10);
    // S3: one PUT per message, storage = a day's mail × days kept
    expect(line(estimate, 'S3', 'PUT requests').monthlyUSD).toBeCloseTo((messages / 1000) * price('s3.put'), 10);
    const storedGB = messagesPerDay * days * (75 / (1024 * 1024));
    expect(line(estimate, 'S3', 'raw mail storage (Standard)').quantity).toBeCloseTo(storedGB, 10);
    expect(line(estimate, 'S3', 'raw mail storage (Standard)').monthlyUSD).toBeCloseTo(storedGB * price('s3.storage'), 10);
    // DynamoDB: the measured units of ingest and forward at one recipient
    const wruPerMessage =
      ingest.writeRequestUnits.base +
      ingest.writeRequestUnits.perRecipient +
      forward.writeRequestUnits.base +
      forward.writeRequestUnits.perRecipient;
    expect(line(estimate, 'DynamoDB', 'write request units').monthlyUSD).toBeCloseTo(
      ((messages * wruPerMessage) / 1e6) * price('dynamodb.write'),
      10,
    );
    // Fixed items
    expect(line(estimate, 'KMS', 'customer managed key').monthlyUSD).toBe(2 * price('kms.key')); // mail key, alarm topic key
    expect(line(estimate, 'CloudWatch', 'dashboard').monthlyUSD).toBe(price('cloudwatch.dashboard'));
    // Every line is quantity × unit price, and the total is their sum, spread over the users
    for (const entry of estimate.lineItems) {
      expect(entry.unitPrice, `${entry.service} / ${entry.item}`).toBe(price(entry.priceKey));
      expect(entry.monthlyUSD).toBeCloseTo(entry.quantity * entry.unitPrice, 10);
    }
    const sum = estimate.lineItems.reduce((total, entry) => total + entry.monthlyUSD, 0);
    expect(estimate.totalUSD).toBeCloseTo(sum, 10);
    expect(estimate.perUserUSD).toBeCloseTo(sum / 10, 10);
  });

  it('bills a message of 300 KB as two incoming mail chunks', () => {
    const small = estimateMonthlyCost({ users: 10, averageSizeKB: 256 });
    const large = estimateMonthlyCost({ users: 10, averageSizeKB: 300 });

    expect(line(small, 'SES', 'incoming mail chunks (256 KB)').quantity).toBeCloseTo(11, 10);
    expect(line(large, 'SES', 'incoming mail chunks (256 KB)').quantity).toBeCloseTo(22, 10);
  });

  it('counts SES messages, not deliveries, when a message has several recipients', () => {
    const single = estimateMonthlyCost({ users: 100 });
    const shared = estimateMonthlyCost({ users: 100, recipientsPerMessage: 2 });

    expect(line(shared, 'SES', 'emails received').quantity).toBeCloseTo(line(single, 'SES', 'emails received').quantity / 2, 10);
    expect(shared.volumes.deliveriesPerMonth).toBe(single.volumes.deliveriesPerMonth);
  });
});

describe('cost model behaviour', () => {
  it('costs more with more users, more mail, bigger mail and longer retention, and less per user as it grows', () => {
    const base = estimateMonthlyCost({ users: 100 });

    expect(estimateMonthlyCost({ users: 101 }).totalUSD).toBeGreaterThan(base.totalUSD);
    expect(estimateMonthlyCost({ users: 100, messagesPerUserPerMonth: 1200 }).totalUSD).toBeGreaterThan(base.totalUSD);
    expect(estimateMonthlyCost({ users: 100, averageSizeKB: 150 }).totalUSD).toBeGreaterThan(base.totalUSD);
    expect(estimateMonthlyCost({ users: 100, retentionDays: 60 }).totalUSD).toBeGreaterThan(base.totalUSD);
    const perUser = [10, 50, 250, 1000, 5000].map((users) => estimateMonthlyCost({ users }).perUserUSD);
    for (let i = 1; i < perUser.length; i += 1) expect(perUser[i]).toBeLessThan(perUser[i - 1]!);
  });

  it('adds the NAT gateway hours, its public IPv4 address, the SMTP bytes it processes and the flow logs', () => {
    const without = estimateMonthlyCost({ users: 250 });
    const withNat = estimateMonthlyCost({ users: 250, natGateway: true });

    const messages = 250 * 1100;
    const smtpGB = (messages * 75) / (1024 * 1024);
    const flowLogGB = (messages * ASSUMPTIONS.flowLogBytesPerForward) / 2 ** 30;
    const expected =
      730 * price('nat.hour') +
      730 * price('vpc.publicIpv4') +
      smtpGB * price('nat.gb') +
      flowLogGB * price('logs.ingest') +
      flowLogGB * (90 / (730 / 24)) * price('logs.storage');
    expect(withNat.totalUSD - without.totalUSD).toBeCloseTo(expected, 8);
    expect(line(withNat, 'VPC', 'NAT gateway hours').monthlyUSD).toBeCloseTo(730 * 0.048, 10);
    expect(without.lineItems.some((entry) => entry.service === 'VPC')).toBe(false);
  });

  it('adds CloudFront + WAF: the web ACL and its three rules every month, WAF and CloudFront per request, the pages out through CloudFront', () => {
    const without = estimateMonthlyCost({ users: 250, failoverHoursPerMonth: 4 });
    const withWaf = estimateMonthlyCost({ users: 250, failoverHoursPerMonth: 4, waf: true });

    const requests = 250 * 4 * ASSUMPTIONS.webmailRequestsPerUserHour + 2 * ASSUMPTIONS.adminRequestsPerMonth;
    const webmailGB = (250 * 4 * ASSUMPTIONS.webmailRequestsPerUserHour * ASSUMPTIONS.webmailResponseKiB) / (1024 * 1024);
    expect(line(withWaf, 'WAF', 'web ACL').monthlyUSD).toBe(price('waf.webAcl'));
    expect(line(withWaf, 'WAF', 'rate-based rules').quantity).toBe(3);
    expect(line(withWaf, 'WAF', 'requests inspected').quantity).toBeCloseTo(requests / 1e6, 10);
    expect(line(withWaf, 'CloudFront', 'HTTPS requests').quantity).toBeCloseTo(requests / 10_000, 10);
    expect(line(withWaf, 'CloudFront', 'out to the internet').quantity).toBeCloseTo(webmailGB, 10);
    // The pages move from API Gateway's data transfer out to CloudFront's: not counted twice.
    const out = (estimate: CostEstimate) => line(estimate, 'Data transfer', 'out to the internet').quantity;
    expect(out(without) - out(withWaf)).toBeCloseTo(webmailGB, 10);
    const expected =
      price('waf.webAcl') +
      3 * price('waf.rule') +
      (requests / 1e6) * price('waf.request') +
      (requests / 10_000) * price('cloudfront.httpsRequest') +
      webmailGB * (price('cloudfront.dataOut') - price('dataTransfer.internetOut')) +
      price('secretsmanager.secret');
    expect(withWaf.totalUSD - without.totalUSD).toBeCloseTo(expected, 8);
    expect(without.lineItems.some((entry) => entry.service === 'WAF' || entry.service === 'CloudFront')).toBe(false);
    expect(withWaf.priceTable.sources.map((source) => source.key)).toEqual(
      expect.arrayContaining(['waf.webAcl', 'waf.rule', 'waf.request', 'cloudfront.httpsRequest', 'cloudfront.dataOut']),
    );
  });

  it('prices a failover month: webmail users sign in, and the forward retries while the primary is down', () => {
    const normal = estimateMonthlyCost({ users: 250 });
    const failover = estimateMonthlyCost({ users: 250, failoverHoursPerMonth: 4 });

    expect(line(normal, 'Cognito', 'federated monthly active users').quantity).toBe(2);
    expect(line(failover, 'Cognito', 'federated monthly active users').quantity).toBe(252);
    expect(failover.volumes.deferredForwardAttempts).toBeGreaterThan(0);
    expect(line(failover, 'Lambda', 'duration, forward').quantity).toBeGreaterThan(line(normal, 'Lambda', 'duration, forward').quantity);
    expect(line(failover, 'API Gateway', 'HTTP API requests').quantity).toBeGreaterThan(
      line(normal, 'API Gateway', 'HTTP API requests').quantity,
    );
    expect(failover.totalUSD).toBeGreaterThan(normal.totalUSD);
  });

  it('averages the forward retries of an outage as the backoff schedule gives them', () => {
    // Attempts start at 0, 60, 180, 420, 900, 1800, 2700 s (backoff 60 s doubling to 900 s).
    // For a message arriving uniformly within a one-hour outage: Σ (3600 − start) / 3600 over those starts.
    const byHand = (3600 + 3540 + 3420 + 3180 + 2700 + 1800 + 900) / 3600;

    expect(meanDeferredAttempts(3600)).toBeCloseTo(byHand, 1);
    expect(meanDeferredAttempts(0)).toBe(0);
    expect(meanDeferredAttempts(30)).toBe(1);
  });

  it('uses the region asked for', () => {
    const ireland = estimateMonthlyCost({ users: 100, region: 'eu-west-1' });
    const virginia = estimateMonthlyCost({ users: 100, region: 'us-east-1' });

    expect(line(virginia, 'DynamoDB', 'write request units').unitPrice).toBe(prices.prices['dynamodb.write'].usd['us-east-1']);
    expect(virginia.totalUSD).toBeLessThan(ireland.totalUSD);
  });
});

describe('cost model deployment figures', () => {
  it('sizes the webmail function as lib/ does', () => {
    expect(DEPLOYMENT.webmailMemoryMiB).toBe(WEBMAIL_LIMITS.memoryMiB);
  });
});

describe('cost model input', () => {
  it.each([
    [{ users: 0 }, 'users: at least 1'],
    [{ users: 2.5 }, 'users: a whole number'],
    [{ users: Number.NaN }, 'users: must be a number'],
    [{ users: 10, averageSizeKB: -1 }, 'averageSizeKB: at least 1 KB'],
    [{ users: 10, averageSizeKB: 50_000 }, 'averageSizeKB: SES receives at most 40 MB'],
    [{ users: 10, failoverHoursPerMonth: 800 }, 'failoverHoursPerMonth: at most 730'],
    [{ users: 10, region: 'eu-central-1' }, 'region: no prices for "eu-central-1"; the price table has eu-west-1, us-east-1'],
    [{ users: 10, mailboxes: 3 }, 'mailboxes: is not a known input'],
  ])('refuses %o with a message naming the input', (inputs, message) => {
    expect(() => estimateMonthlyCost(inputs as never)).toThrow(CostInputError);
    expect(() => estimateMonthlyCost(inputs as never)).toThrow(message);
  });
});

describe('break-glass: Cognito Essentials users and SMS', () => {
  it('costs nothing for codes or notices in a month without failover, and keeps the lines to show it', () => {
    const normal = estimateMonthlyCost({ users: 250, codeSignInShare: 1, smsNotices: true });
    expect(line(normal, 'Cognito', 'break-glass monthly active users (SMS code)').quantity).toBe(0);
    expect(line(normal, 'SMS', 'SMS sign-in codes').quantity).toBe(0);
    expect(line(normal, 'SMS', 'SMS failover notices').quantity).toBe(0);
    expect(line(normal, 'Cognito', 'federated monthly active users').quantity).toBe(2);
  });

  it('moves code sign-ins from federated to Essentials users and bills a code per user and outage day', () => {
    // 30 h of failover: two outage days; 250 users, all on the webmail, 40 % by SMS code.
    const estimate = estimateMonthlyCost({ users: 250, failoverHoursPerMonth: 30, codeSignInShare: 0.4 });
    expect(line(estimate, 'Cognito', 'break-glass monthly active users (SMS code)').quantity).toBe(100);
    expect(line(estimate, 'Cognito', 'federated monthly active users').quantity).toBe(150 + 2);
    const codes = line(estimate, 'SMS', 'SMS sign-in codes');
    expect(codes.quantity).toBe(100 * 2 * ASSUMPTIONS.codeSignInsPerUserDay);
    expect(codes.monthlyUSD).toBeCloseTo(200 * price('sms.outboundPart'), 10);
    expect(line(estimate, 'SMS', 'SMS failover notices').quantity).toBe(0);
    expect(estimate.sms.perOutageDayUSD).toBeCloseTo(100 * price('sms.outboundPart'), 10);
  });

  it('bills two two-part notices per user in a failover month when SMS notices are on', () => {
    const estimate = estimateMonthlyCost({ users: 250, failoverHoursPerMonth: 4, smsNotices: true });
    expect(line(estimate, 'SMS', 'SMS failover notices').quantity).toBe(250 * 2 * 2);
    expect(estimate.sms.noticePartsPerFailover).toBe(1000);
  });

  it("takes the destination country's price as a parameter, defaulting to the price table's (Germany)", () => {
    const germany = estimateMonthlyCost({ users: 100, failoverHoursPerMonth: 8, codeSignInShare: 1 });
    const elsewhere = estimateMonthlyCost({ users: 100, failoverHoursPerMonth: 8, codeSignInShare: 1, smsPriceUSD: 0.01 });
    expect(germany.sms.pricePerPartUSD).toBe(price('sms.outboundPart'));
    expect(line(elsewhere, 'SMS', 'SMS sign-in codes').monthlyUSD).toBeCloseTo(100 * 0.01, 10);
    expect(elsewhere.sms.priceFrom).toBe('as given');
    expect(() => estimateMonthlyCost({ users: 100, smsPriceUSD: -1 })).toThrow(CostInputError);
    expect(() => estimateMonthlyCost({ users: 100, codeSignInShare: 1.5 })).toThrow(/codeSignInShare: to 1/);
  });
});

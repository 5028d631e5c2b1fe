// The AWS regions where SES receives mail (an inbound-smtp.<region>.amazonaws.com
// endpoint exists): the stacks must be deployed in one of them, because the
// receipt rule set, the bucket it writes to and the pipeline share one region.
// Source: "Amazon Simple Email Service endpoints and quotas", email receiving
// endpoints, https://docs.aws.amazon.com/general/latest/gr/ses.html (checked 2026-11).
export const SES_RECEIVING_REGIONS: readonly string[] = [
  'us-east-1',
  'us-east-2',
  'us-west-1',
  'us-west-2',
  'ca-central-1',
  'eu-central-1',
  'eu-west-1',
  'eu-west-2',
  'eu-west-3',
  'eu-north-1',
  'eu-south-1',
  'ap-northeast-1',
  'ap-northeast-2',
  'ap-northeast-3',
  'ap-southeast-1',
  'ap-southeast-2',
  'ap-southeast-3',
  'ap-south-1',
  'il-central-1',
];

/** The MX target of a region: what the domain's MX record points at. */
export const inboundSmtpEndpoint = (region: string): string => `inbound-smtp.${region}.amazonaws.com`;

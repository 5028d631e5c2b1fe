// The AWS regions where SES receives mail (an inbound-smtp.<region>.amazonaws.com
// endpoint exists): the stacks must be deployed in one of them, because the
// receipt rule set, the bucket it writes to and the pipeline share one region.
// Source: "Amazon Simple Email Service endpoints and quotas", email receiving
// endpoints, https://docs.aws.amazon.com/general/latest/gr/ses.html (checked
// 2026-11-28; the table could be read only in part, so each region below was
// also checked against public copies of that table and against deployments
// using its inbound-smtp endpoint as MX; sa-east-1 added on that evidence,
// af-south-1 and me-south-1 left out for want of it).
// Caveat of the SES guide's S3 action page: opt-in regions (ap-southeast-3,
// eu-south-1, il-central-1 here) may refuse an S3 bucket as the destination;
// prefer a default region.
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
  'sa-east-1',
];

/** The MX target of a region: what the domain's MX record points at. */
export const inboundSmtpEndpoint = (region: string): string => `inbound-smtp.${region}.amazonaws.com`;

// The AWS regions where SES receives mail into an S3 bucket: the receipt rule set, the
// bucket and the pipeline share one region, so a deployment must be in one of them
// (docs/deploy.md §2.1). Checked 2026-11-28 against https://docs.aws.amazon.com/general/latest/gr/ses.html
// (readable only in part, so each region was also confirmed by public copies of that table
// and by deployments using its inbound-smtp MX; af-south-1 and me-south-1 left out for want
// of such evidence) and https://docs.aws.amazon.com/ses/latest/dg/receiving-email-action-s3.html.
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
  'ap-northeast-1',
  'ap-northeast-2',
  'ap-northeast-3',
  'ap-southeast-1',
  'ap-southeast-2',
  'ap-south-1',
  'sa-east-1',
];

/** Opt-in regions with an SES inbound endpoint where SES will not deliver to an S3 bucket (see above). */
export const SES_OPT_IN_REGIONS_WITHOUT_S3: readonly string[] = ['ap-southeast-3', 'eu-south-1', 'il-central-1'];

/** Why a region cannot hold a deployment, or undefined when it can. */
export function sesRegionProblem(region: string): string | undefined {
  if (SES_OPT_IN_REGIONS_WITHOUT_S3.includes(region)) {
    return `${region} is an opt-in region, and SES does not support S3 buckets in opt-in regions as a destination for inbound mail (SES Developer Guide, "Deliver to S3 bucket action"); use one of ${SES_RECEIVING_REGIONS.join(', ')}`;
  }
  if (!SES_RECEIVING_REGIONS.includes(region))
    return `SES does not receive mail in ${region}; use one of ${SES_RECEIVING_REGIONS.join(', ')}`;
  return undefined;
}

/** The MX target of a region: what the domain's MX record points at. */
export const inboundSmtpEndpoint = (region: string): string => `inbound-smtp.${region}.amazonaws.com`;

/** Where a custom MAIL FROM domain's MX record points: SES's feedback endpoint of the region. */
export const sesFeedbackEndpoint = (region: string): string => `feedback-smtp.${region}.amazonses.com`;

// Text for the XML of the awsQuery fakes (CloudFormation, SES v1, SNS), escaped for element content and attributes.
export function xml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

// The SES configuration set of the webmail as CloudFormation: its name, reputation
// metrics, and one event destination that publishes bounces, complaints and rejects to
// CloudWatch under the ses:configuration-set dimension, which the metrics the alarms read
// name exactly. cdk-nag AwsSolutions clean. Bundling is not involved.
import { mkdtempSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { App, Duration, Stack, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, describe, expect, it } from 'vitest';
import { WebmailSending } from '../../../../lib/constructs/webmail-sending.ts';
import type { CfnResource } from '../../../support/cfn-resource.ts';

const ROOT = resolve(import.meta.dirname, '../../../..');
const cdkJson = JSON.parse(readFileSync(join(ROOT, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> };
const outRoot = mkdtempSync(join(tmpdir(), 'shadowmail-webmail-sending-'));
afterAll(async () => {
  await rm(outRoot, { recursive: true, force: true });
});

type Resource = CfnResource;

function build(name = 'corp-mail-webmail') {
  const app = new App({ outdir: mkdtempSync(join(outRoot, 'app-')), context: { ...cdkJson.context, 'aws:cdk:bundling-stacks': [] } });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  const stack = new Stack(app, 'Stateless', { env: { account: '123456789012', region: 'eu-west-1' } });
  const sending = new WebmailSending(stack, 'WebmailSending', { configurationSetName: name });
  sending.addOutputs();
  return { app, stack, sending, template: Template.fromStack(stack) };
}

const only = (template: Template, type: string): [string, Resource] => {
  const found = Object.entries(template.findResources(type) as Record<string, Resource>);
  expect(found, type).toHaveLength(1);
  return found[0]!;
};

describe('webmail sending: the SES configuration set', () => {
  const built = build();

  it('creates the named configuration set with reputation metrics and sending on', () => {
    // Act
    const [, set] = only(built.template, 'AWS::SES::ConfigurationSet');

    // Assess
    expect(set.Properties).toMatchObject({
      Name: 'corp-mail-webmail',
      ReputationOptions: { ReputationMetricsEnabled: true },
      SendingOptions: { SendingEnabled: true },
    });
  });

  it('publishes bounces, complaints and rejects to CloudWatch under the ses:configuration-set auto-tag, and nothing else', () => {
    // Act
    const [setId] = only(built.template, 'AWS::SES::ConfigurationSet');
    const [, destination] = only(built.template, 'AWS::SES::ConfigurationSetEventDestination');

    // Assess
    expect(destination.Properties.ConfigurationSetName).toEqual({ Ref: setId });
    expect(destination.Properties.EventDestination).toEqual({
      Enabled: true,
      MatchingEventTypes: ['bounce', 'complaint', 'reject'],
      CloudWatchDestination: {
        DimensionConfigurations: [
          { DimensionName: 'ses:configuration-set', DimensionValueSource: 'messageTag', DefaultDimensionValue: 'corp-mail-webmail' },
        ],
      },
    });
  });

  it('reads the metrics SES publishes for the set: AWS/SES, the event as the metric name, the set as the dimension value', () => {
    // Act
    const metric = built.sending.metric('Complaint');
    const hourly = built.sending.metric('Bounce', Duration.hours(1));

    // Assess
    expect([metric.namespace, metric.metricName, metric.dimensions, metric.statistic, metric.period.toSeconds()]).toEqual([
      'AWS/SES',
      'Complaint',
      { 'ses:configuration-set': 'corp-mail-webmail' },
      'Sum',
      300,
    ]);
    expect(hourly.period.toSeconds()).toBe(3600);
  });

  it('offers the set by reference and its ARN for the sending grant, and outputs its name', () => {
    // Act
    const [setId] = only(built.template, 'AWS::SES::ConfigurationSet');
    const outputs = built.template.toJSON().Outputs as Record<string, { Value: unknown }>;

    // Assess
    expect(built.stack.resolve(built.sending.configurationSetName)).toEqual({ Ref: setId });
    expect(built.stack.resolve(built.sending.configurationSetArn)).toEqual({
      'Fn::Join': ['', ['arn:aws:ses:eu-west-1:123456789012:configuration-set/', { Ref: setId }]],
    });
    expect(outputs.ConfigurationSetName!.Value).toEqual({ Ref: setId });
  });

  it('refuses a name SES would refuse, and passes cdk-nag', () => {
    // Act
    const attempt = () => build('corp mail');
    const assembly = built.app.synth();

    // Assess
    expect(attempt).toThrow(/"corp mail" is no SES configuration set name/);
    const report = JSON.parse(readFileSync(join(assembly.directory, 'validation-report.json'), 'utf8')) as { pluginReports: unknown[] };
    expect(report.pluginReports).toEqual([]);
  });
});

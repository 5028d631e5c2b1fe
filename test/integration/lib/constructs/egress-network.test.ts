// The fixed-egress network as CloudFormation: a two-AZ VPC whose private subnets
// leave through ONE NAT gateway on the given Elastic IP, flow logs, a security group
// with SMTP and HTTPS out and nothing in; a MailFunction placed in it (VpcConfig and
// the ENI permissions inline in its role) and one left outside unchanged; the
// retained Elastic IP of the stateful stack and its NatElasticIp output; and cdk-nag
// AwsSolutions clean for both stacks. Bundling is skipped (`aws:cdk:bundling-stacks: []`).
import { mkdtempSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { App, Duration, Stack, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EgressNetwork, type EgressNetworkProps, RetainedElasticIp } from '../../../../lib/constructs/egress-network.ts';
import { MailFunction, VPC_NETWORK_INTERFACE_ACTIONS } from '../../../../lib/constructs/mail-function.ts';
import type { CfnResource } from '../../../support/cfn-resource.ts';

const ROOT = resolve(import.meta.dirname, '../../../..');
const cdkJson = JSON.parse(readFileSync(join(ROOT, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> };
const outRoot = mkdtempSync(join(tmpdir(), 'shadowmail-egress-'));
afterAll(async () => {
  await rm(outRoot, { recursive: true, force: true });
});

const ALLOCATION_ID = 'eipalloc-0123456789abcdef0';
const CIDR = '10.80.0.0/24';
const SMART_HOST_PORT = 10025;

type Resource = CfnResource;

const newApp = () => {
  const app = new App({ outdir: mkdtempSync(join(outRoot, 'app-')), context: { ...cdkJson.context, 'aws:cdk:bundling-stacks': [] } });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return app;
};

const mailFunction = (stack: Stack, id: string, network?: EgressNetwork) =>
  new MailFunction(stack, id, {
    entry: 'lambdas/entry/forward.ts',
    description: `shadowmail ${id}`,
    timeout: Duration.minutes(15),
    memoryMiB: 512,
    environment: {},
    ...(network && { network: network.functionNetwork }),
  });

/** A stateless stack with the network on a given Elastic IP, one function inside and one outside. */
function withGivenIp(props: Partial<EgressNetworkProps> = {}) {
  const app = newApp();
  const stack = new Stack(app, 'Stateless');
  const network = new EgressNetwork(stack, 'Egress', {
    vpcCidr: CIDR,
    elasticIpAllocationId: ALLOCATION_ID,
    smtpPorts: [SMART_HOST_PORT],
    ...props,
  });
  const inside = mailFunction(stack, 'Forward', network);
  const outside = mailFunction(stack, 'Ingest');
  const id = (construct: { node: { defaultChild?: unknown } }) => stack.getLogicalId(construct.node.defaultChild as never);
  return {
    app,
    template: Template.fromStack(stack),
    ids: {
      vpc: id(network.vpc),
      securityGroup: id(network.securityGroup),
      flowLogs: id(network.flowLogGroup),
      inside: id(inside.function),
      insideRole: id(inside.role),
      outside: id(outside.function),
      outsideRole: id(outside.role),
    },
  };
}

const resources = (template: Template, type: string) => template.findResources(type) as Record<string, Resource>;

let given: ReturnType<typeof withGivenIp>;
beforeAll(() => {
  given = withGivenIp();
});

describe('EgressNetwork', () => {
  it('sends everything from the private subnets of two AZs through one NAT gateway on the given Elastic IP', () => {
    // Act
    const { template, ids } = given;
    const subnets = resources(template, 'AWS::EC2::Subnet');
    const nats = Object.values(resources(template, 'AWS::EC2::NatGateway'));
    const routes = Object.values(resources(template, 'AWS::EC2::Route'));

    // Assess
    template.hasResourceProperties('AWS::EC2::VPC', { CidrBlock: CIDR });
    expect(Object.keys(resources(template, 'AWS::EC2::EIP'))).toEqual([]);
    expect(nats).toHaveLength(1);
    expect(nats[0]!.Properties.AllocationId).toBe(ALLOCATION_ID);
    const publicIds = Object.keys(subnets).filter((id) => /^EgressVpcPublicSubnet\d/.test(id));
    const privateIds = Object.keys(subnets).filter((id) => /^EgressVpcFunctionsSubnet\d/.test(id));
    expect([publicIds.length, privateIds.length]).toEqual([2, 2]);
    expect(Object.keys(subnets)).toHaveLength(4);
    for (const id of publicIds) expect(subnets[id]!.Properties.MapPublicIpOnLaunch).toBe(false);
    for (const subnet of Object.values(subnets)) expect(subnet.Properties.VpcId).toEqual({ Ref: ids.vpc });
    expect(publicIds).toContainEqual(nats[0]!.Properties.SubnetId.Ref);
    const natId = Object.keys(resources(template, 'AWS::EC2::NatGateway'))[0]!;
    const viaNat = routes.filter((r) => r.Properties.NatGatewayId?.Ref === natId);
    expect(viaNat).toHaveLength(2);
    for (const route of viaNat) expect(route.Properties.DestinationCidrBlock).toBe('0.0.0.0/0');
    // The availability zones differ.
    const azs = privateIds.map((id) => JSON.stringify(subnets[id]!.Properties.AvailabilityZone));
    expect(new Set(azs).size).toBe(2);
  });

  it('logs all VPC traffic to a retained CloudWatch log group', () => {
    // Act
    const { template, ids } = given;
    const logGroup = resources(template, 'AWS::Logs::LogGroup')[ids.flowLogs]!;

    // Assess
    template.resourceCountIs('AWS::EC2::FlowLog', 1);
    template.hasResourceProperties('AWS::EC2::FlowLog', {
      ResourceId: { Ref: ids.vpc },
      ResourceType: 'VPC',
      TrafficType: 'ALL',
      LogDestinationType: 'cloud-watch-logs',
      LogGroupName: { Ref: ids.flowLogs },
    });
    expect(logGroup.Properties.RetentionInDays).toBe(90);
    expect(logGroup.DeletionPolicy).toBe('Retain');
  });

  it('lets the functions out to SMTP ports and HTTPS only, and nothing in', () => {
    // Act
    const { template, ids } = given;
    const group = resources(template, 'AWS::EC2::SecurityGroup')[ids.securityGroup]!;
    const separateRules = [
      ...Object.values(resources(template, 'AWS::EC2::SecurityGroupIngress')),
      ...Object.values(resources(template, 'AWS::EC2::SecurityGroupEgress')),
    ];

    // Assess
    expect(group.Properties.SecurityGroupIngress).toBeUndefined();
    expect(separateRules).toEqual([]);
    const egress = group.Properties.SecurityGroupEgress as Array<Record<string, unknown>>;
    expect(egress.map((rule) => rule.FromPort).sort((a, b) => Number(a) - Number(b))).toEqual([25, 443, 465, 587, 2525, SMART_HOST_PORT]);
    for (const rule of egress) {
      expect(rule).toMatchObject({ CidrIp: '0.0.0.0/0', IpProtocol: 'tcp' });
      expect(rule.ToPort).toBe(rule.FromPort);
    }
  });

  it.each([
    ['an allocation id that is none', { elasticIpAllocationId: 'eip-1234' }, /elasticIpAllocationId "eip-1234" is not an allocation id/],
    ['a VPC range smaller than /24', { vpcCidr: '10.80.0.0/28' }, /vpcCidr "10.80.0.0\/28" is not an IPv4 CIDR block from \/16 to \/24/],
    ['an octet out of range', { vpcCidr: '10.300.0.0/24' }, /vpcCidr "10.300.0.0\/24"/],
    ['a port out of range', { smtpPorts: [70000] }, /smtpPorts: 70000 is not a TCP port/],
  ])('refuses %s, naming the prop', (_what, props, message) => {
    // Act
    const attempt = () =>
      new EgressNetwork(new Stack(new App({ outdir: mkdtempSync(join(outRoot, 'bad-')) }), 'Bad'), 'Egress', {
        vpcCidr: CIDR,
        elasticIpAllocationId: ALLOCATION_ID,
        ...props,
      });

    // Assess
    expect(attempt).toThrow(message);
  });
});

describe('MailFunction with a network', () => {
  it('runs in the private subnets with the security group, its role allowed the network interfaces inline', () => {
    // Act
    const { template, ids } = given;
    const fn = resources(template, 'AWS::Lambda::Function')[ids.inside]!;
    const role = resources(template, 'AWS::IAM::Role')[ids.insideRole]!;

    // Assess
    const privateSubnets = Object.keys(resources(template, 'AWS::EC2::Subnet'))
      .filter((id) => id.startsWith('EgressVpcFunctionsSubnet'))
      .map((id) => ({ Ref: id }));
    expect(fn.Properties.VpcConfig).toEqual({
      SubnetIds: privateSubnets,
      SecurityGroupIds: [{ 'Fn::GetAtt': [ids.securityGroup, 'GroupId'] }],
    });
    expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    expect(role.Properties.Policies).toEqual([
      {
        PolicyName: 'VpcNetworkInterfaces',
        PolicyDocument: {
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Action: [...VPC_NETWORK_INTERFACE_ACTIONS].sort(), Resource: '*' }],
        },
      },
    ]);
    // Lambda checks the ENI permissions when it creates the function: the role (with them) comes first.
    expect(fn.DependsOn).toEqual(expect.arrayContaining([ids.insideRole]));
  });

  it('leaves a function without a network as before: no VPC, no EC2 permissions', () => {
    // Act
    const { template, ids } = given;
    const fn = resources(template, 'AWS::Lambda::Function')[ids.outside]!;
    const role = resources(template, 'AWS::IAM::Role')[ids.outsideRole]!;
    const policies = Object.values(resources(template, 'AWS::IAM::Policy')).filter((p) =>
      p.Properties.Roles.some((r: { Ref: string }) => r.Ref === ids.outsideRole),
    );

    // Assess
    expect(fn.Properties.VpcConfig).toBeUndefined();
    expect(role.Properties.Policies).toBeUndefined();
    expect(JSON.stringify(policies)).not.toContain('ec2:');
    expect(policies.flatMap((p) => p.Properties.PolicyDocument.Statement)).toEqual([
      expect.objectContaining({ Action: ['logs:CreateLogStream', 'logs:PutLogEvents'] }),
    ]);
  });
});

describe('RetainedElasticIp', () => {
  function twoStacks() {
    const app = newApp();
    const stateful = new Stack(app, 'Stateful');
    const stateless = new Stack(app, 'Stateless');
    const ip = new RetainedElasticIp(stateful, 'NatEgressIp');
    const network = new EgressNetwork(stateless, 'Egress', { vpcCidr: '10.81.0.0/22', elasticIpAllocationId: ip.allocationId });
    mailFunction(stateless, 'Forward', network);
    return {
      app,
      stateful: Template.fromStack(stateful),
      stateless: Template.fromStack(stateless),
      eipId: stateful.getLogicalId(ip.eip),
    };
  }

  it('keeps the address on delete and replacement, outputs it as NatElasticIp, and the NAT gateway uses it', () => {
    // Act
    const { stateful, stateless, eipId } = twoStacks();
    const eip = resources(stateful, 'AWS::EC2::EIP')[eipId]!;
    const nat = Object.values(resources(stateless, 'AWS::EC2::NatGateway'));

    // Assess
    expect(eip.Properties.Domain).toBe('vpc');
    expect(eip.DeletionPolicy).toBe('Retain');
    expect(eip.UpdateReplacePolicy).toBe('Retain');
    stateful.hasOutput('NatElasticIp', { Value: { 'Fn::GetAtt': [eipId, 'PublicIp'] } });
    expect(nat).toHaveLength(1);
    // A cross-stack reference (CDK's weak references read the stateful stack's output).
    const reference = nat[0]!.Properties.AllocationId as { 'Fn::GetStackOutput': { StackName: string; OutputName: string } };
    expect(reference['Fn::GetStackOutput'].StackName).toBe('Stateful');
    const outputs = stateful.toJSON().Outputs as Record<string, { Value: unknown }>;
    expect(outputs[reference['Fn::GetStackOutput'].OutputName]!.Value).toEqual({ 'Fn::GetAtt': [eipId, 'AllocationId'] });
  });

  it('passes cdk-nag AwsSolutions for both stacks, with the network and a function in it', () => {
    // Prepare
    const { app } = twoStacks();

    // Act
    const assembly = app.synth();

    // Assess
    const report = JSON.parse(readFileSync(join(assembly.directory, 'validation-report.json'), 'utf8')) as { pluginReports: unknown[] };
    expect(report.pluginReports).toEqual([]);
  });
});

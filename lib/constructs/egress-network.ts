// Fixed egress for the functions that talk SMTP to Exchange (forward, resend): Lambda
// outside a VPC sends from changing addresses and cannot reach port 25, so a receive
// connector that allow-lists one source IP needs the functions in a VPC behind ONE NAT
// gateway with a known Elastic IP. EgressNetwork (stateless) is that VPC; RetainedElasticIp
// (stateful) keeps the address across teardowns. Layout and rules: docs/design.md §12.3.
import { CfnOutput, RemovalPolicy, Tags, Token } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { MailFunctionNetwork } from './mail-function.ts';

/** Submission and relay ports an Exchange receive connector may listen on. */
export const DEFAULT_SMTP_PORTS: readonly number[] = [25, 465, 587, 2525];
export const HTTPS_PORT = 443;

const allocationIdPattern = /^eipalloc-[0-9a-f]{8,17}$/;

export interface EgressNetworkProps {
  /** IPv4 range of the VPC (config.natGateway.vpcCidr), /16 to /24. */
  vpcCidr: string;
  /** The NAT gateway's Elastic IP: config.natGateway.elasticIpAllocationId or RetainedElasticIp.allocationId. */
  elasticIpAllocationId: string;
  /** Extra TCP ports of the smart host (config.smartHost.port) besides DEFAULT_SMTP_PORTS. */
  smtpPorts?: readonly number[];
  /** Default three months. */
  flowLogRetention?: logs.RetentionDays;
}

export class EgressNetwork extends Construct {
  readonly vpc: ec2.Vpc;
  /** For the functions: egress to SMTP and HTTPS only, no ingress. */
  readonly securityGroup: ec2.SecurityGroup;
  readonly flowLogGroup: logs.LogGroup;
  /** What MailFunction's `network` prop takes: private subnets with egress, the security group. */
  readonly functionNetwork: MailFunctionNetwork;

  constructor(scope: Construct, id: string, props: EgressNetworkProps) {
    super(scope, id);
    const smtpPorts = [...new Set([...DEFAULT_SMTP_PORTS, ...(props.smtpPorts ?? [])])].sort((a, b) => a - b);
    validate(this, props, smtpPorts);

    this.flowLogGroup = new logs.LogGroup(this, 'FlowLogs', {
      retention: props.flowLogRetention ?? logs.RetentionDays.THREE_MONTHS,
      // Evidence of what left the VPC; kept when the stateless stack is torn down.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.vpc = new ec2.Vpc(this, 'Vpc', {
      ipAddresses: ec2.IpAddresses.cidr(props.vpcCidr),
      maxAzs: 2,
      // One gateway, one address: the receive connector allow-lists exactly it.
      natGateways: 1,
      natGatewayProvider: ec2.NatProvider.gateway({ eipAllocationIds: [props.elasticIpAllocationId] }),
      subnetConfiguration: [
        // Only the NAT gateway lives here; nothing gets a public address by default.
        { name: 'Public', subnetType: ec2.SubnetType.PUBLIC, mapPublicIpOnLaunch: false },
        { name: 'Functions', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      ],
      flowLogs: {
        All: { destination: ec2.FlowLogDestination.toCloudWatchLogs(this.flowLogGroup), trafficType: ec2.FlowLogTrafficType.ALL },
      },
    });

    // S3 and DynamoDB over gateway endpoints: free, and the raw message a forward reads
    // does not pass (and is not billed per GB by) the NAT gateway.
    this.vpc.addGatewayEndpoint('S3Endpoint', { service: ec2.GatewayVpcEndpointAwsService.S3 });
    this.vpc.addGatewayEndpoint('DynamoDbEndpoint', { service: ec2.GatewayVpcEndpointAwsService.DYNAMODB });

    this.securityGroup = new ec2.SecurityGroup(this, 'FunctionSecurityGroup', {
      vpc: this.vpc,
      description: 'shadowmail functions: SMTP to the smart host and HTTPS to AWS APIs, nothing in',
      allowAllOutbound: false,
    });
    for (const port of smtpPorts) {
      // The smart host is a name resolved at run time (and may be on-prem behind any address).
      this.securityGroup.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(port), `SMTP to the smart host (${port})`);
    }
    this.securityGroup.addEgressRule(
      ec2.Peer.anyIpv4(),
      ec2.Port.tcp(HTTPS_PORT),
      'HTTPS to AWS APIs (S3, DynamoDB, SQS, Secrets Manager)',
    );

    this.functionNetwork = {
      vpc: this.vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      securityGroups: [this.securityGroup],
    };
  }
}

export class RetainedElasticIp extends Construct {
  readonly eip: ec2.CfnEIP;
  /** eipalloc-… for EgressNetwork's elasticIpAllocationId. */
  readonly allocationId: string;
  /** The address to allow-list on the Exchange receive connector. */
  readonly publicIp: string;
  /** Stack output `NatElasticIp`. */
  readonly output: CfnOutput;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.eip = new ec2.CfnEIP(this, 'Eip', { domain: 'vpc' });
    // Deleting it would give the next deployment a new address and break the allow list.
    this.eip.applyRemovalPolicy(RemovalPolicy.RETAIN);
    Tags.of(this.eip).add('Name', 'shadowmail NAT egress (allow-listed by Exchange)');
    this.allocationId = this.eip.attrAllocationId;
    this.publicIp = this.eip.attrPublicIp;
    this.output = new CfnOutput(this, 'PublicIp', {
      description: 'Source IP of all SMTP from shadowmail: allow-list it on the Exchange receive connector',
      value: this.publicIp,
    });
    this.output.overrideLogicalId('NatElasticIp');
  }
}

function validate(scope: Construct, props: EgressNetworkProps, smtpPorts: number[]): void {
  const where = scope.node.path;
  if (!Token.isUnresolved(props.elasticIpAllocationId) && !allocationIdPattern.test(props.elasticIpAllocationId)) {
    throw new Error(
      `${where}: elasticIpAllocationId ${JSON.stringify(props.elasticIpAllocationId)} is not an allocation id such as eipalloc-0123456789abcdef0`,
    );
  }
  const cidr = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(props.vpcCidr);
  const prefix = Number(cidr?.[5]);
  if (!cidr || cidr.slice(1, 5).some((octet) => Number(octet) > 255) || prefix < 16 || prefix > 24) {
    throw new Error(`${where}: vpcCidr ${JSON.stringify(props.vpcCidr)} is not an IPv4 CIDR block from /16 to /24`);
  }
  const badPort = smtpPorts.find((port) => !Number.isInteger(port) || port < 1 || port > 65535);
  if (badPort !== undefined) throw new Error(`${where}: smtpPorts: ${badPort} is not a TCP port`);
}

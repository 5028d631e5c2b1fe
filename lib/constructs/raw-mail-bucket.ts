// The raw-mail bucket: where SES writes every received message, the source of
// truth of the pipeline. Encrypted with a customer-managed key (so reading a
// message needs a key grant as well as a bucket grant), never public, TLS only,
// and emptied by a lifecycle rule a little after the index forgets the message.
// Read access is one managed policy defined here, next to the data it opens,
// and attached by whoever reads raw mail (pipeline now, webmail later).
import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

/** S3 expires objects asynchronously and the index TTL deletes late too; this keeps the raw bytes readable while an index item can still point at them. */
export const RAW_MAIL_EXPIRY_MARGIN_DAYS = 2;

export interface RawMailBucketProps {
  retentionDays: number;
  /** Alias of the key, e.g. `alias/shadowmail/mail`. */
  keyAlias: string;
  /** Key prefix SES writes under, e.g. `raw/`; readers see nothing else. */
  rawPrefix: string;
}

export class RawMailBucket extends Construct {
  readonly key: kms.Key;
  readonly bucket: s3.Bucket;
  /** Read and decrypt raw messages under the prefix; nothing else. */
  readonly readPolicy: iam.ManagedPolicy;

  constructor(scope: Construct, id: string, props: RawMailBucketProps) {
    super(scope, id);
    this.key = new kms.Key(this, 'Key', {
      description: 'shadowmail: raw mail at rest',
      alias: props.keyAlias,
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.bucket = new s3.Bucket(this, 'Bucket', {
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: this.key,
      // One data key per bucket, not per object: KMS calls (and their cost) stay flat at mail volume.
      bucketKeyEnabled: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      lifecycleRules: [
        {
          id: 'expire-raw-mail',
          expiration: Duration.days(props.retentionDays + RAW_MAIL_EXPIRY_MARGIN_DAYS),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(this.bucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        'Only SES writes and only the pipeline roles read this bucket; per-request audit belongs in CloudTrail data events, decided with monitoring in the deploy issue, not in a second log bucket here.',
    });

    const objects = this.bucket.arnForObjects(`${props.rawPrefix}*`);
    this.readPolicy = new iam.ManagedPolicy(this, 'ReadPolicy', {
      description: 'shadowmail: read and decrypt raw mail',
      statements: [
        new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: [objects] }),
        // Without ListBucket a missing object answers 403, not 404, and the
        // adapter could not tell "not there yet" (retry) from a permission problem.
        new iam.PolicyStatement({ actions: ['s3:ListBucket'], resources: [this.bucket.bucketArn] }),
        new iam.PolicyStatement({ actions: ['kms:Decrypt'], resources: [this.key.keyArn] }),
      ],
    });
    const bucketLogicalId = Stack.of(this).resolve(Stack.of(this).getLogicalId(this.bucket.node.defaultChild as s3.CfnBucket));
    Validations.of(this.readPolicy).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${bucketLogicalId}.Arn>/${props.rawPrefix}*]`,
      reason: 'Message ids are not known in advance: reading raw mail means every object under the SES prefix, and only that prefix.',
    });
  }
}

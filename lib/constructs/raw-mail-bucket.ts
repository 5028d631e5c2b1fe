// The raw-mail bucket: where SES writes every received message, the source of
// truth of the pipeline. Encrypted with a customer-managed key (so reading a
// message needs a key grant as well as a bucket grant), never public, TLS only,
// and emptied by a lifecycle rule a little after the index forgets the message
// (the webmail's short-lived download copies after a day). Read access is one
// managed policy defined here, next to the data it opens, and attached by
// whoever reads raw mail (pipeline now, webmail later). SES's right to write is
// granted here too (allowSesDelivery), tied to the receipt rules that write (the stack's and the directory sync's).
import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { DOWNLOADS_PREFIX, RAW_MAIL_EXPIRY_MARGIN_DAYS, SENT_PREFIX, UPLOADS_PREFIX } from '../../lambdas/contract/raw-mail-bucket.ts';

/** Download copies are needed for minutes, uploads until the message is sent (which deletes them). */
export const DOWNLOADS_EXPIRY_DAYS = 1;
export const UPLOADS_EXPIRY_DAYS = 1;

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
  /** The webmail's objects: read raw mail, Sent copies, downloads and uploads; write the last three; delete uploads. */
  readonly webmailPolicy: iam.ManagedPolicy;
  /** Read the Sent copies only (`shadowmail reconcile`'s role), decrypting through S3 only. */
  readonly sentReadPolicy: iam.ManagedPolicy;
  private readonly rawPrefix: string;
  private sesDeliveryAllowed = false;

  constructor(scope: Construct, id: string, props: RawMailBucketProps) {
    super(scope, id);
    this.rawPrefix = props.rawPrefix;
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
        // S3 applies the earliest expiration that matches: downloads and uploads go after a day, everything else with the retention.
        { id: 'expire-downloads', prefix: DOWNLOADS_PREFIX, expiration: Duration.days(DOWNLOADS_EXPIRY_DAYS) },
        { id: 'expire-uploads', prefix: UPLOADS_PREFIX, expiration: Duration.days(UPLOADS_EXPIRY_DAYS) },
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

    // Defined next to the bucket (like readPolicy) so each wildcard is acknowledged
    // under the name cdk-nag gives it in this stack's template.
    const under = (prefix: string) => this.bucket.arnForObjects(`${prefix}*`);
    this.webmailPolicy = new iam.ManagedPolicy(this, 'WebmailPolicy', {
      description: 'shadowmail webmail: read raw mail, Sent copies, downloads and uploads; write Sent copies, downloads and uploads',
      statements: [
        new iam.PolicyStatement({
          actions: ['s3:GetObject'],
          resources: [under(props.rawPrefix), under(SENT_PREFIX), under(DOWNLOADS_PREFIX), under(UPLOADS_PREFIX)],
        }),
        // uploads/ also takes the files browsers post with the webmail's presigned forms: S3
        // authorizes such a POST as the role that signed it, within the form's policy.
        new iam.PolicyStatement({
          actions: ['s3:PutObject'],
          resources: [under(SENT_PREFIX), under(DOWNLOADS_PREFIX), under(UPLOADS_PREFIX)],
        }),
        // A sent draft's files, and a file the user leaves out, are deleted at once.
        new iam.PolicyStatement({ actions: ['s3:DeleteObject'], resources: [under(UPLOADS_PREFIX)] }),
        new iam.PolicyStatement({ actions: ['s3:ListBucket'], resources: [this.bucket.bucketArn] }),
        // S3 with a bucket key asks KMS for a data key on writes and to decrypt on reads; never kms:Encrypt.
        new iam.PolicyStatement({ actions: ['kms:Decrypt', 'kms:GenerateDataKey'], resources: [this.key.keyArn] }),
      ],
    });
    Validations.of(this.webmailPolicy).acknowledge(
      ...[props.rawPrefix, SENT_PREFIX, DOWNLOADS_PREFIX, UPLOADS_PREFIX].map((prefix) => ({
        id: `AwsSolutions-IAM5[Resource::<${bucketLogicalId}.Arn>/${prefix}*]`,
        reason: `Object keys are message ids, draft ids and attachment names, unknown in advance: the webmail reads ${props.rawPrefix}, ${SENT_PREFIX}, ${DOWNLOADS_PREFIX} and ${UPLOADS_PREFIX}, writes the last three and deletes only under ${UPLOADS_PREFIX}, each limited to its prefix of this bucket; a presigned upload form narrows its key further to one user's draft.`,
      })),
    );
    // SSE-KMS with a bucket key: a read needs kms:Decrypt (https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucket-key.html),
    // and kms:ViaService keeps the key usable only through S3 in this region
    // (https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-via-service).
    this.sentReadPolicy = new iam.ManagedPolicy(this, 'SentReadPolicy', {
      description: "shadowmail reconcile: read the webmail's Sent copies (and nothing that was received)",
      statements: [
        new iam.PolicyStatement({ sid: 'SentCopies', actions: ['s3:GetObject'], resources: [under(SENT_PREFIX)] }),
        new iam.PolicyStatement({
          sid: 'SentCopiesKey',
          actions: ['kms:Decrypt'],
          resources: [this.key.keyArn],
          conditions: { StringEquals: { 'kms:ViaService': `s3.${Stack.of(this).region}.amazonaws.com` } },
        }),
      ],
    });
    Validations.of(this.sentReadPolicy).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${bucketLogicalId}.Arn>/${SENT_PREFIX}*]`,
      reason: `Sent copies are named by ids not known in advance: every object under ${SENT_PREFIX}, and only that prefix.`,
    });
  }

  /**
   * Lets SES store received mail: PutObject under the raw prefix only, and the
   * key for the bucket's SSE-KMS encryption, both only for the receipt rules
   * `receiptRuleArns` (ARN patterns) of this account (aws:SourceAccount and aws:SourceArn, the
   * confused-deputy guard AWS documents; not aws:Referer). The rule itself lives
   * in the stateless stack; its ARN is built from fixed names, so this stack
   * does not depend on that one.
   */
  allowSesDelivery(receiptRuleArns: string[]): void {
    // One receipt rule writes; a second call would repeat the statement ids, which the policies refuse.
    if (this.sesDeliveryAllowed) throw new Error(`${this.node.path}: SES delivery is already allowed (one receipt rule writes raw mail)`);
    this.sesDeliveryAllowed = true;
    const ses = new iam.ServicePrincipal('ses.amazonaws.com');
    const fromTheRule = {
      StringEquals: { 'aws:SourceAccount': Stack.of(this).account },
      ArnLike: { 'aws:SourceArn': receiptRuleArns },
    };
    this.bucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowSesReceiptRulePuts',
        principals: [ses],
        actions: ['s3:PutObject'],
        resources: [this.bucket.arnForObjects(`${this.rawPrefix}*`)],
        conditions: fromTheRule,
      }),
    );
    // S3 encrypts SES's PutObject with the bucket key on SES's behalf: SES needs a data key
    // (GenerateDataKey) and, for multipart uploads of large messages, Decrypt. Only through S3.
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowSesReceiptRuleSseKms',
        principals: [ses],
        actions: ['kms:GenerateDataKey*', 'kms:Decrypt'],
        resources: ['*'],
        conditions: {
          StringEquals: { ...fromTheRule.StringEquals, 'kms:ViaService': `s3.${Stack.of(this).region}.amazonaws.com` },
          ArnLike: fromTheRule.ArnLike,
        },
      }),
    );
  }
}

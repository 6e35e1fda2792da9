import { Duration, type RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as cloudtrail from 'aws-cdk-lib/aws-cloudtrail';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

export interface ManagementTrailProps {
  readonly removalPolicy: RemovalPolicy;
  /** Days the log files are kept in the bucket. @default 365 */
  readonly retentionDays?: number;
}

/**
 * A minimal CloudTrail trail for accounts that have none: management events (read and write — the
 * secret-read rule needs the read-only GetSecretValue), this region only, log file validation on, into
 * an S3 bucket that is encrypted (SSE-S3), private, TLS-only, versioned and kept per `removalPolicy`.
 * EventBridge delivers "AWS API Call via CloudTrail" events only while such a trail logs in the
 * region (EventBridge User Guide, "AWS service events delivered via AWS CloudTrail").
 * The bucket is encrypted with S3-managed keys, not the broker's key: CloudTrail would need a grant
 * on the key that protects the secret and the tokens.
 */
export class ManagementTrail extends Construct {
  readonly trail: cloudtrail.Trail;
  readonly bucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: ManagementTrailProps) {
    super(scope, id);
    this.bucket = new s3.Bucket(this, 'Logs', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      versioned: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      removalPolicy: props.removalPolicy,
      autoDeleteObjects: false,
      lifecycleRules: [
        {
          expiration: Duration.days(props.retentionDays ?? 365),
          noncurrentVersionExpiration: Duration.days(30),
        },
      ],
    });
    Validations.of(this.bucket.node.defaultChild as s3.CfnBucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        'The bucket holds CloudTrail log files only; CloudTrail itself records who reads them (data events can be added), and server access logs would need a second bucket of their own.',
    });
    this.trail = new cloudtrail.Trail(this, 'Trail', {
      bucket: this.bucket,
      isMultiRegionTrail: false,
      includeGlobalServiceEvents: false,
      managementEvents: cloudtrail.ReadWriteType.ALL,
      enableFileValidation: true,
      sendToCloudWatchLogs: false,
    });
  }
}

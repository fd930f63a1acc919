import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { DEFAULTS, rangeProblems } from '../../lambdas/core/defaults';

export interface DispatchQueueProps {
  /** The customer-managed key both queues are encrypted with. */
  readonly encryptionKey: kms.IKey;
  /** Receives before SQS moves a message to the DLQ. @default 5 */
  readonly maxReceiveCount?: number;
  /**
   * How long a received message stays invisible. AWS asks for at least six times the consuming
   * function's timeout, so a retried invocation never races a still-running one.
   * @default Duration.seconds(180) (6 x the dispatcher's 30 s)
   */
  readonly visibilityTimeout?: Duration;
  /**
   * How long a message may wait in the dispatch queue (while the pipeline is paused, messages wait
   * here until an operator resumes). Shorter than the DLQ's: SQS keeps a message's first enqueue
   * time when it moves it to the DLQ, so a DLQ no longer-lived than the queue drops late failures at once.
   * @default Duration.days(4)
   */
  readonly retentionPeriod?: Duration;
  /** How long the DLQ keeps a message; must exceed `retentionPeriod`. @default Duration.days(14) */
  readonly deadLetterRetentionPeriod?: Duration;
}

/**
 * The queue the portal publishes to and its dead-letter queue: both encrypted with the project's
 * CMK and refusing any request not made over TLS.
 */
export class DispatchQueue extends Construct {
  public readonly queue: sqs.Queue;
  public readonly deadLetterQueue: sqs.Queue;
  public readonly maxReceiveCount: number;
  private readonly encryptionKey: kms.IKey;

  constructor(scope: Construct, id: string, props: DispatchQueueProps) {
    super(scope, id);
    this.encryptionKey = props.encryptionKey;
    this.maxReceiveCount = props.maxReceiveCount ?? DEFAULTS.maxReceiveCount;
    const visibilityTimeout = props.visibilityTimeout ?? Duration.seconds(180);
    const retentionPeriod = props.retentionPeriod ?? Duration.days(DEFAULTS.queueRetentionDays);
    const deadLetterRetentionPeriod = props.deadLetterRetentionPeriod ?? Duration.days(DEFAULTS.deadLetterRetentionDays);
    const problems = rangeProblems({ maxReceiveCount: this.maxReceiveCount });
    if (visibilityTimeout.toSeconds() > 43_200) problems.push('visibilityTimeout must be at most 12 hours');
    if (retentionPeriod.toSeconds() < 60 || retentionPeriod.toSeconds() > 1_209_600)
      problems.push('retentionPeriod must be 1 minute to 14 days');
    if (deadLetterRetentionPeriod.toSeconds() > 1_209_600) problems.push('deadLetterRetentionPeriod must be at most 14 days');
    if (deadLetterRetentionPeriod.toSeconds() <= retentionPeriod.toSeconds()) {
      problems.push('deadLetterRetentionPeriod must exceed retentionPeriod (SQS keeps the first enqueue time in the DLQ)');
    }
    if (problems.length > 0) throw new Error(`DispatchQueue ${id}: ${problems.join('; ')}`);

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: props.encryptionKey,
      // Let SQS reuse a data key for 5 minutes: fewer KMS calls under a burst, same key.
      dataKeyReuse: Duration.minutes(5),
      enforceSSL: true,
      retentionPeriod: deadLetterRetentionPeriod,
      // `cdk destroy` keeps the DLQ and what it holds (rejected and failed messages are evidence);
      // docs/deploy.md gives the order of a safe teardown.
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.queue = new sqs.Queue(this, 'Queue', {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: props.encryptionKey,
      dataKeyReuse: Duration.minutes(5),
      enforceSSL: true,
      visibilityTimeout,
      retentionPeriod,
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: this.maxReceiveCount },
    });
  }

  /**
   * Lets `grantee` publish to the dispatch queue (not the DLQ), and nothing else: `sqs:SendMessage`
   * (which also covers `SendMessageBatch`) on the queue, and `kms:GenerateDataKey` + `kms:Decrypt`
   * on the CMK only through SQS (`kms:ViaService`), which SQS needs to encrypt the message. Not the
   * queue's `grantSendMessages`: that adds `kms:Encrypt` and `kms:ReEncrypt*` usable outside SQS.
   * The statements go on the grantee's policy when this app can change it, otherwise on the queue
   * policy and the key policy. A role imported with `mutable: false` must also say
   * `addGrantsToResources: true`, or CDK drops its grants without a word.
   */
  public grantPublish(grantee: iam.IGrantable): iam.Grant {
    const send = iam.Grant.addToPrincipalOrResource({
      grantee,
      actions: ['sqs:SendMessage'],
      resourceArns: [this.queue.queueArn],
      resource: this.queue,
    });
    const useKey = iam.Grant.addToPrincipalOrResource({
      grantee,
      actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
      resourceArns: [this.encryptionKey.keyArn],
      resourceSelfArns: ['*'],
      resource: this.encryptionKey,
      conditions: { StringEquals: { 'kms:ViaService': `sqs.${Stack.of(this).region}.amazonaws.com` } },
    });
    return send.combine(useKey);
  }
}

import * as path from 'node:path';
import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

/** The repository root: handler entries and the lock file are resolved from it. */
export const PROJECT_ROOT = path.resolve(__dirname, '..', '..');

/** Newest Node.js runtime this aws-cdk-lib knows (Node 22 is the floor, see DESIGN.md). */
export const FUNCTION_RUNTIME = lambda.Runtime.NODEJS_24_X;

export interface ServiceFunctionProps {
  /** Handler entry, relative to the repository root, e.g. `lambdas/dispatcher/handler.ts`. */
  readonly entry: string;
  /** The customer-managed key for the log group (and the failure queue). */
  readonly encryptionKey: kms.IKey;
  /** @default - none */
  readonly description?: string;
  /** @default Duration.seconds(30) */
  readonly timeout?: Duration;
  /** @default 512 (MB; on arm64 this also buys CPU for TLS handshakes and JSON work) */
  readonly memorySize?: number;
  /** Environment variables. Never secrets or personal data: those live in Secrets Manager and DynamoDB. @default {} */
  readonly environment?: Readonly<Record<string, string>>;
  /**
   * Reserved concurrency: both a cap (a runaway cannot outpace SES or the tables) and a floor
   * (the function can always run, even when the rest of the account is saturated).
   * @default 1
   */
  readonly reservedConcurrentExecutions?: number;
  /**
   * Give asynchronous invocations (SNS) an encrypted dead-letter queue so a failed run is kept
   * and alarmed on instead of dropped after Lambda's two retries.
   * @default false
   */
  readonly asyncFailureQueue?: boolean;
  /** @default logs.RetentionDays.ONE_YEAR */
  readonly logRetention?: logs.RetentionDays;
}

/**
 * One Lambda function the way this project runs them: bundled by the local esbuild (no Docker),
 * arm64, JSON logs into its own CMK-encrypted log group with a retention and an e-mail masking
 * data-protection policy, and a role whose only permissions are the statements its owner adds
 * with {@link ServiceFunction.allow} (a customer-managed policy: no AWS-managed policies, no
 * implicit grants, nothing inline).
 */
export class ServiceFunction extends Construct {
  public readonly function: nodejs.NodejsFunction;
  public readonly role: iam.Role;
  /** The function's only permissions policy. */
  public readonly policy: iam.ManagedPolicy;
  public readonly logGroup: logs.LogGroup;
  /** Set when `asyncFailureQueue` is true. */
  public readonly failureQueue?: sqs.Queue;

  constructor(scope: Construct, id: string, props: ServiceFunctionProps) {
    super(scope, id);
    const timeout = props.timeout ?? Duration.seconds(30);
    const memorySize = props.memorySize ?? 512;
    const reserved = props.reservedConcurrentExecutions ?? 1;
    const problems: string[] = [];
    if (timeout.toSeconds() < 1 || timeout.toSeconds() > 900) problems.push('timeout must be 1-900 seconds');
    if (!Number.isInteger(memorySize) || memorySize < 128 || memorySize > 10_240) problems.push('memorySize must be 128-10240 MB');
    if (!Number.isInteger(reserved) || reserved < 1) problems.push('reservedConcurrentExecutions must be a positive integer');
    if (path.isAbsolute(props.entry)) problems.push('entry must be relative to the repository root');
    if (problems.length > 0) throw new Error(`ServiceFunction ${id}: ${problems.join('; ')}`);

    this.logGroup = new logs.LogGroup(this, 'Logs', {
      encryptionKey: props.encryptionKey,
      retention: props.logRetention ?? logs.RetentionDays.ONE_YEAR,
      removalPolicy: RemovalPolicy.RETAIN,
      // Defence in depth: the code never logs addresses, but if a bug ever did, CloudWatch
      // masks them for every reader without logs:Unmask.
      dataProtectionPolicy: new logs.DataProtectionPolicy({
        name: 'mail-dispatch-mask-addresses',
        description: 'Masks e-mail addresses in case one ever reaches a log line',
        identifiers: [logs.DataIdentifier.EMAILADDRESS],
      }),
    });

    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `mail-dispatch ${id}: execution role; its only permissions are in the attached customer-managed policy`,
    });
    this.policy = new iam.ManagedPolicy(this, 'Policy', { roles: [this.role] });
    this.allow(
      new iam.PolicyStatement({
        sid: 'WriteOwnLogGroup',
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [this.logGroup.logGroupArn],
      }),
    );

    if (props.asyncFailureQueue) {
      this.failureQueue = new sqs.Queue(this, 'FailedInvocations', {
        encryption: sqs.QueueEncryption.KMS,
        encryptionMasterKey: props.encryptionKey,
        enforceSSL: true,
        retentionPeriod: Duration.days(14),
      });
      this.allow(
        new iam.PolicyStatement({
          sid: 'KeepFailedInvocations',
          actions: ['sqs:SendMessage'],
          resources: [this.failureQueue.queueArn],
        }),
        new iam.PolicyStatement({
          sid: 'EncryptFailedInvocations',
          actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
          resources: [props.encryptionKey.keyArn],
          conditions: { StringEquals: { 'kms:ViaService': `sqs.${Stack.of(this).region}.amazonaws.com` } },
        }),
      );
    }

    this.function = new nodejs.NodejsFunction(this, 'Function', {
      entry: path.join(PROJECT_ROOT, props.entry),
      handler: 'handler',
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: path.join(PROJECT_ROOT, 'package-lock.json'),
      runtime: FUNCTION_RUNTIME,
      architecture: lambda.Architecture.ARM_64,
      description: props.description,
      timeout,
      memorySize,
      reservedConcurrentExecutions: reserved,
      environment: { ...props.environment },
      role: this.role.withoutPolicyUpdates(),
      logGroup: this.logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      deadLetterQueue: this.failureQueue,
      bundling: {
        forceDockerBundling: false,
        minify: true,
        sourceMap: false,
        target: 'node22',
        format: nodejs.OutputFormat.CJS,
        logLevel: nodejs.LogLevel.WARNING,
        // The runtime ships AWS SDK v3; bundling it again only adds cold-start time.
        externalModules: ['@aws-sdk/*'],
      },
    });
    // The function (and any event source mapping on it) must not exist before its permissions.
    this.function.node.addDependency(this.policy);
    Validations.of(this.function).acknowledge({
      id: 'HIPAA.Security-LambdaInsideVPC',
      reason:
        'The function reaches only AWS regional APIs (SQS, DynamoDB, SES, Secrets Manager, Lambda) over TLS with SigV4, each call authorised by a least-privilege role; it holds no network-reachable resource and runs in no customer network. A VPC would add NAT or interface endpoints and ENIs without protecting any data path that is not already encrypted and authenticated.',
    });
  }

  /** Adds statements to the function's only permissions policy. */
  public allow(...statements: iam.PolicyStatement[]): void {
    for (const statement of statements) this.policy.addStatements(statement);
  }
}

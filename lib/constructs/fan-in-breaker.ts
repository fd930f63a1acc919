import { ArnFormat, Duration, Stack } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type { Construct } from 'constructs';
import { DEFAULTS, rangeProblems } from '../../lambdas/core/defaults';
import { Env, TABLE_ACCESS } from '../../lambdas/tables';
import { ServiceFunction } from './service-function';

export interface FanInBreakerProps {
  readonly encryptionKey: kms.IKey;
  /** The ledger table, which holds the pause flag item. */
  readonly ledger: dynamodb.ITable;
  /** The UUID of the dispatcher's event source mapping: the one mapping the breaker may disable. */
  readonly eventSourceMappingId: string;
  /** The ARN of that mapping (the breaker's only `lambda:UpdateEventSourceMapping` resource). */
  readonly eventSourceMappingArn: string;
  /** Reserved concurrency of the breaker; 0 reserves none (the dispatcher pauses by itself first). @default 0 */
  readonly reservedConcurrentExecutions?: number;
}

/**
 * The circuit breaker: a function that disables the dispatcher's event source mapping and writes
 * the pause flag, and can touch nothing but that one mapping and that one ledger item. What trips
 * it (the pausing alarms' ALARM transitions, the dispatcher, the "not for me" page, the registry
 * watch) is wired by MailDispatch; it is invoked by its fixed name, never by a reference.
 */
export class FanInBreaker extends ServiceFunction {
  /** The breaker's fixed function name: others invoke it by name, never by a reference (which would make a cycle). */
  public readonly breakerFunctionName: string;

  /** The breaker's name in the stack of `scope`: the stack name's first 40 characters and `-fan-in-breaker`. */
  public static functionNameIn(scope: Construct): string {
    return `${Stack.of(scope).stackName.slice(0, 40)}-fan-in-breaker`;
  }

  constructor(scope: Construct, id: string, props: FanInBreakerProps) {
    const problems = rangeProblems({ breakerReservedConcurrency: props.reservedConcurrentExecutions });
    if (problems.length > 0) throw new Error(`FanInBreaker ${id}: ${problems.join('; ')}`);
    // A fixed name, so the dispatcher can invoke the breaker without a reference: the breaker
    // already depends on the dispatcher's event source mapping, a reference back would be a cycle.
    const breakerName = FanInBreaker.functionNameIn(scope);
    super(scope, id, {
      entry: 'lambdas/breaker/handler.ts',
      functionName: breakerName,
      description:
        'mail-dispatch: on FanInSpike or a reputation alarm, disables the dispatcher event source mapping and sets the pause flag',
      encryptionKey: props.encryptionKey,
      timeout: Duration.seconds(30),
      memorySize: 256,
      // None reserved by default: the dispatcher sets the pause flag itself before it invokes the
      // breaker, and Lambda retries a throttled asynchronous invocation (SNS, the dispatcher's).
      reservedConcurrentExecutions: props.reservedConcurrentExecutions ?? DEFAULTS.breakerReservedConcurrency,
      unreservedReason:
        'The dispatcher sets the pause flag itself, and checks it before every claim, before it invokes the breaker; a throttled asynchronous invocation is retried by Lambda.',
      asyncFailureQueue: true,
      environment: {
        [Env.ledgerTable]: props.ledger.tableName,
        [Env.eventSourceMappingId]: props.eventSourceMappingId,
        POWERTOOLS_SERVICE_NAME: 'mail-dispatch-breaker',
      },
    });
    this.breakerFunctionName = breakerName;
    this.allow(
      new iam.PolicyStatement({
        sid: 'DisableOnlyTheDispatcherMapping',
        actions: ['lambda:UpdateEventSourceMapping', 'lambda:GetEventSourceMapping'],
        resources: [props.eventSourceMappingArn],
      }),
      new iam.PolicyStatement({
        sid: 'WriteOnlyThePauseFlag',
        // The pause switch reads and updates the flag; nothing puts whole items, so no PutItem.
        actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
        resources: [props.ledger.tableArn],
        conditions: { 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': [...TABLE_ACCESS.breaker.ledgerKeys] } },
      }),
      new iam.PolicyStatement({
        sid: 'UseKeyThroughDynamoDb',
        actions: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:DescribeKey'],
        resources: [props.encryptionKey.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `dynamodb.${Stack.of(this).region}.amazonaws.com` } },
      }),
    );
  }

  /** What a function needs to trip the breaker: `lambda:InvokeFunction` on it, by its fixed name. */
  public invokeStatement(): iam.PolicyStatement {
    return new iam.PolicyStatement({
      sid: 'TripTheBreaker',
      actions: ['lambda:InvokeFunction'],
      resources: [
        Stack.of(this).formatArn({
          service: 'lambda',
          resource: 'function',
          resourceName: this.breakerFunctionName,
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        }),
      ],
    });
  }
}

import { SQSClient, TooManyEntriesInBatchRequest } from '@aws-sdk/client-sqs';

/** What SQS answers for one batch entry it refused. */
export interface EntryRefusal {
  readonly code: string;
  readonly senderFault: boolean;
}

export interface SqsBatchRulesOptions {
  /** Asked per `DeleteMessageBatch` entry: a refusal makes SQS leave that message and list it under `Failed`. */
  readonly refuseDelete?: (receiptHandle: string) => EntryRefusal | undefined;
}

const BATCH_COMMANDS = new Set(['DeleteMessageBatchCommand', 'SendMessageBatchCommand', 'ChangeMessageVisibilityBatchCommand']);

/**
 * A client on the SQS emulator that keeps two rules of real SQS fauxqs does not: a batch call
 * takes at most 10 entries (`TooManyEntriesInBatchRequest` fails the whole call), and a batch
 * call answers 200 with some entries `Failed` (here: the deletes `refuseDelete` picks).
 */
export function sqsWithBatchRules(config: { region: string; endpoint: string }, options: SqsBatchRulesOptions = {}): SQSClient {
  const client = new SQSClient({ ...config, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  type Entries = { Id?: string; ReceiptHandle?: string }[];
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const command = context.commandName ?? '';
      const input = args.input as { Entries?: Entries };
      if (!BATCH_COMMANDS.has(command)) return next(args);
      if ((input.Entries?.length ?? 0) > 10) {
        throw new TooManyEntriesInBatchRequest({
          message: `Maximum number of entries per request are 10. You have sent ${input.Entries?.length}.`,
          $metadata: { httpStatusCode: 400 },
        });
      }
      if (command !== 'DeleteMessageBatchCommand' || !options.refuseDelete) return next(args);
      const refused: { Id: string; Code: string; SenderFault: boolean; Message: string }[] = [];
      const kept = (input.Entries ?? []).filter((entry) => {
        const refusal = options.refuseDelete?.(entry.ReceiptHandle ?? '');
        if (refusal)
          refused.push({ Id: entry.Id ?? '', Code: refusal.code, SenderFault: refusal.senderFault, Message: `${refusal.code} (test)` });
        return !refusal;
      });
      const result =
        kept.length > 0
          ? await next({ ...args, input: { ...input, Entries: kept } as typeof args.input })
          : { output: { Successful: [], $metadata: { httpStatusCode: 200 } }, response: {} };
      const output = result.output as { Failed?: unknown[] };
      return { ...result, output: { ...output, Failed: [...(output.Failed ?? []), ...refused] } } as typeof result;
    },
    { step: 'initialize', name: 'sqsBatchRules' },
  );
  return client;
}

import type { EventBridgeEvent, SNSEvent } from 'aws-lambda';
import { Logger } from '@aws-lambda-powertools/logger';
import { DynamoDbFeedbackStore } from '../adapters/dynamodb-feedback-store';
import { ConfigurationError } from '../core/errors';
import { Env } from '../tables';
import type { FeedbackStore } from '../ports';
import { classifySesEvent, type SesEventRecord } from './ses-event';

export interface FeedbackDeps {
  readonly store: FeedbackStore;
  readonly now?: () => Date;
  readonly logger?: Pick<Logger, 'info' | 'warn'>;
}

type FeedbackEvent = SNSEvent | EventBridgeEvent<string, SesEventRecord>;

/**
 * SES feedback, from the configuration set's event destination (SNS, or EventBridge):
 * `Send`/`Delivery` reconcile a claimed or in-doubt dispatch to sent; a permanent bounce or a
 * complaint suppresses the member. Idempotent: SNS and EventBridge deliver at least once.
 */
export function createFeedbackHandler(deps: FeedbackDeps) {
  const now = deps.now ?? (() => new Date());
  const logger = deps.logger ?? new Logger({ serviceName: 'mail-dispatch-feedback' });
  return async (event: FeedbackEvent): Promise<{ reconciled: number; suppressed: number; ignored: number }> => {
    const counts = { reconciled: 0, suppressed: 0, ignored: 0 };
    for (const record of sesRecords(event)) {
      const feedback = classifySesEvent(record);
      if (feedback.kind === 'ignored') {
        counts.ignored++;
        logger.info('SES event ignored', { why: feedback.why });
        continue;
      }
      if (feedback.kind === 'sent' || feedback.kind === 'delivered') {
        const result = await deps.store.reconcileSent(feedback.dispatchId, feedback.sesMessageId, now());
        if (result === 'reconciled') {
          counts.reconciled++;
          logger.info('dispatch reconciled to sent by SES event', { dispatchId: feedback.dispatchId, sesMessageId: feedback.sesMessageId });
        }
        continue;
      }
      const memberId = await deps.store.suppressMemberOf(feedback.dispatchId, feedback.kind, now());
      if (memberId) counts.suppressed++;
      logger.warn('member suppressed', { dispatchId: feedback.dispatchId, memberId, reason: feedback.kind });
    }
    return counts;
  };
}

function sesRecords(event: FeedbackEvent): SesEventRecord[] {
  if ('Records' in event) {
    return event.Records.flatMap((r) => {
      try {
        return [JSON.parse(r.Sns.Message) as SesEventRecord];
      } catch {
        // Counted and logged as ignored, not dropped unseen.
        return [{ eventType: 'unparseable' }];
      }
    });
  }
  return event.detail ? [event.detail] : [];
}

let deployed: ReturnType<typeof createFeedbackHandler> | undefined;

export const handler = (event: FeedbackEvent) => {
  const membersTable = process.env[Env.membersTable];
  const ledgerTable = process.env[Env.ledgerTable];
  if (!membersTable || !ledgerTable) throw new ConfigurationError(`Set ${Env.membersTable} and ${Env.ledgerTable}`);
  deployed ??= createFeedbackHandler({ store: new DynamoDbFeedbackStore({ membersTable, ledgerTable }) });
  return deployed(event);
};

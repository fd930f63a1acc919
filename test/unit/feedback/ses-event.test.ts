import fc from 'fast-check';
import { encodeDispatchTag } from '../../../lambdas/core/dispatch-tag';
import { classifySesEvent, type SesEventRecord } from '../../../lambdas/feedback/ses-event';

const mail = (dispatchId = 'd1', configurationSet = 'mail-dispatch') => ({
  messageId: 'ses-1',
  timestamp: '2000-08-02T09:00:00Z',
  tags: { 'ses:configuration-set': [configurationSet], dispatchId: [encodeDispatchTag(dispatchId)] },
});

describe('classifySesEvent', () => {
  it.each([
    [{ eventType: 'Send', mail: mail() }, { kind: 'sent' }],
    [
      { eventType: 'Delivery', mail: mail() },
      { kind: 'fate', fate: 'delivered' },
    ],
    [
      { notificationType: 'Delivery', mail: mail() },
      { kind: 'fate', fate: 'delivered' },
    ],
    [
      { eventType: 'Bounce', mail: mail(), bounce: { bounceType: 'Permanent', bounceSubType: 'General' } },
      { kind: 'fate', fate: 'bounced', detail: { bounceType: 'permanent', bounceSubType: 'General' } },
    ],
    [
      { eventType: 'Bounce', mail: mail(), bounce: { bounceType: 'Transient', bounceSubType: 'MailboxFull' } },
      { kind: 'fate', detail: { bounceType: 'transient' } },
    ],
    [
      { eventType: 'Bounce', mail: mail(), bounce: { bounceType: 'Undetermined' } },
      { kind: 'fate', detail: { bounceType: 'undetermined' } },
    ],
    [
      { eventType: 'Complaint', mail: mail(), complaint: { feedbackId: 'f' } },
      { kind: 'fate', fate: 'complained', eventKey: 'complained:f' },
    ],
    [
      { eventType: 'Reject', mail: mail() },
      { kind: 'fate', fate: 'ses-rejected', detail: { rejectKind: 'reject' } },
    ],
    [
      { eventType: 'Rendering Failure', mail: mail() },
      { kind: 'fate', fate: 'ses-rejected', detail: { rejectKind: 'rendering-failure' } },
    ],
    [
      { eventType: 'DeliveryDelay', mail: mail(), deliveryDelay: { delayType: 'TransientCommunicationFailure' } },
      { kind: 'fate', fate: 'delayed' },
    ],
    [
      { eventType: 'Open', mail: mail() },
      { kind: 'ignored', why: 'unhandled-type' },
    ],
    [
      { eventType: 'Delivery', mail: mail('d1', 'another-set') },
      { kind: 'ignored', why: 'other-configuration-set' },
    ],
    [
      { eventType: 'Delivery', mail: { messageId: 'x' } },
      { kind: 'ignored', why: 'untagged' },
    ],
    [{ mail: mail() }, { kind: 'ignored', why: 'malformed' }],
  ] as [SesEventRecord, object][])('classifies %j', (record, expected) => {
    expect(classifySesEvent(record, { configurationSet: 'mail-dispatch' })).toMatchObject(expected);
  });

  it('keeps only plain words of SES sub-types: free text that could hold an address becomes Other', () => {
    const bounce = classifySesEvent({
      eventType: 'Bounce',
      mail: mail(),
      bounce: { bounceType: 'Permanent', bounceSubType: 'pat@example.org' },
    });
    expect(bounce).toMatchObject({ detail: { bounceSubType: 'Other' } });
  });

  it('never throws and never lets an `@` into what it stores, whatever the body', () => {
    fc.assert(
      fc.property(fc.anything(), fc.string(), fc.string(), (junk, word, id) => {
        for (const record of [
          junk,
          {
            eventType: 'Bounce',
            mail: { ...mail(), messageId: id },
            bounce: { bounceType: word, bounceSubType: word, feedbackId: word, timestamp: word },
          },
        ]) {
          const feedback = classifySesEvent(record as SesEventRecord);
          if (feedback.kind === 'fate')
            expect(JSON.stringify({ d: feedback.detail, k: feedback.eventKey, at: feedback.at, id: feedback.sesMessageId })).not.toContain(
              '@',
            );
        }
      }),
    );
  });
});

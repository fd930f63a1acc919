import { createHash } from 'node:crypto';
import { PAUSE_READ_MAX_AGE_MS } from '../../lambdas/adapters/cached-pause-switch';
import { dispatchRefFromText, reportUrlFromText } from '../../lambdas/core/templates';
import type { StoredEmail } from '../embedded-aws';
import { sesFeedbackEvent, type SesFeedback } from '../feedback-pump';
import type { LocalPipeline } from '../local-pipeline';
import { followNotForMeLink } from '../not-for-me-visitor';

/* The steps in which the recipients and SES answer: SES feedback events and "not for me" reports. */

/**
 * SES reports events for the e-mails it accepted, as its event destination would: first the
 * `Send` events of everything accepted so far (SES publishes those at once), then each event of
 * the step, in order, through the real feedback handler.
 */
export async function reportSesFeedback(
  pipeline: LocalPipeline,
  feedback: readonly (SesFeedback & { dispatchId: string })[],
  log: (message: string) => void,
): Promise<void> {
  await pipeline.feedback.pumpOnce();
  const accepted = new Map<string, StoredEmail>();
  for (const email of await pipeline.aws.sesStore()) {
    const dispatchId = dispatchRefFromText(email.body.text ?? '');
    if (dispatchId) accepted.set(dispatchId, email);
  }
  for (const item of feedback) {
    const email = accepted.get(item.dispatchId);
    if (!email) log(`  SES never accepted ${item.dispatchId}: its ${item.type} event carries an unknown SES message id`);
    await pipeline.feedbackHandler(sesFeedbackEvent(item, item.dispatchId, email, pipeline.clock.now()));
  }
}

/**
 * The recipient of each dispatchId's e-mail follows its "not for me" link: the link is read from
 * the e-mail in the SES emulator's store, the page is opened and its form submitted over HTTP, to
 * the real page handler. Each person comes from their own network (a documentation address).
 */
export async function reportNotForMe(
  pipeline: LocalPipeline,
  dispatchIds: readonly string[],
  log: (message: string) => void,
): Promise<void> {
  const pausedBefore = await pipeline.paused();
  const emails = await pipeline.aws.sesStore();
  for (const dispatchId of dispatchIds) {
    const email = emails.filter((e) => dispatchRefFromText(e.body.text ?? '') === dispatchId).at(-1);
    const url = email && reportUrlFromText(email.body.text ?? '');
    if (!url) {
      log(`  reportNotForMe ${dispatchId}: no e-mail with a link for it in the SES store (nothing was delivered): nobody can report it`);
      continue;
    }
    const visit = await followNotForMeLink(url, { sourceIp: personalNetwork(dispatchId) });
    const confirmed = visit.confirmed ? `, confirmed: ${visit.confirmed.status} "${visit.confirmed.heading}"` : ' (no form to confirm)';
    log(`  reportNotForMe ${dispatchId}: page ${visit.opened.status} "${visit.opened.heading}"${confirmed}`);
  }
  // The reports paused the pipeline: the step ends once the pause holds everywhere. A dispatcher
  // environment reads the flag through a cache up to PAUSE_READ_MAX_AGE_MS old (12.8), and a
  // receive in flight when the mapping was disabled still delivers; a message published within
  // that second could still be claimed (as in AWS). The next step starts after it.
  if (!pausedBefore && (await pipeline.paused())) {
    log(`  the reports paused the pipeline: waiting ${PAUSE_READ_MAX_AGE_MS} ms for every environment's cached pause read to see it`);
    await new Promise((resolve) => setTimeout(resolve, PAUSE_READ_MAX_AGE_MS + 100));
  }
}

/** A private address per recipient, stable per dispatchId, so that distinct people are distinct sources. */
function personalNetwork(dispatchId: string): string {
  const digest = createHash('sha256').update(dispatchId).digest();
  return `10.${digest[0]}.${digest[1]}.${digest[2]}`;
}

import type { LambdaFunctionURLEvent, LambdaFunctionURLResult } from 'aws-lambda';
import { CONFIRM_FIELD, PageKind, renderPage } from '../core/not-for-me-page';
import { PauseReason, PausedBy } from '../core/outcomes';
import { checkReportToken, pseudonymOf, REPORT_PATH_PREFIX } from '../core/report-token';
import { type DepsOrStart, depsOf } from '../handler-kit';
import { createNotForMeDeps, type NotForMeDeps } from './dependencies';

// The dependencies' types live with their builder (./dependencies), which would otherwise import this file back.
export type { NotForMeDeps, ReportNotice } from './dependencies';

/**
 * The "not for me" page behind a Lambda function URL: `GET /r/<token>` shows the confirm page
 * and changes nothing (link scanners and mail previews only ever GET); `POST /r/<token>` with the
 * confirm button's field records the report. Every answer is a page; none names the member.
 */
export function createNotForMeHandler(deps: DepsOrStart<NotForMeDeps>) {
  const ready = depsOf(deps);
  let resolved: NotForMeDeps | undefined = typeof deps === 'function' ? undefined : deps;
  return async (event: LambdaFunctionURLEvent): Promise<LambdaFunctionURLResult> => {
    const method = event.requestContext?.http?.method ?? 'GET';
    if (!event.rawPath?.startsWith(REPORT_PATH_PREFIX)) return page(PageKind.NotFound);
    if (method !== 'GET' && method !== 'POST') return page(PageKind.MethodNotAllowed);
    try {
      const d = (resolved = await ready());
      const token = event.rawPath.slice(REPORT_PATH_PREFIX.length);
      return page(method === 'GET' ? await show(token, d) : await confirm(token, event, d));
    } catch (error) {
      // Built deps log it; a start that failed (secret unreadable) is retried on the next request.
      if (resolved) resolved.onError('not-for-me page failed', error);
      else console.error(JSON.stringify({ level: 'ERROR', message: 'not-for-me page could not start', errorName: (error as Error)?.name }));
      return page(PageKind.Unavailable);
    }
  };
}

async function show(token: string, d: NotForMeDeps): Promise<PageKind> {
  const check = checkReportToken(d.keys, token, d.now());
  if (!check.ok) return check.reason === 'expired' ? PageKind.Expired : PageKind.Invalid;
  const dispatch = await d.store.findDispatch(check.claims.dispatchId);
  if (!dispatch || dispatch.toHash !== check.claims.toHash) return PageKind.Invalid;
  return dispatch.reportedAt ? PageKind.AlreadyReported : PageKind.Confirm;
}

async function confirm(token: string, event: LambdaFunctionURLEvent, d: NotForMeDeps): Promise<PageKind> {
  const now = d.now();
  const { settings: s } = d;
  // Every POST counts against its source first, forged ones included: guessing tokens costs slots.
  const source = event.requestContext?.http?.sourceIp ?? 'unknown';
  if (!(await d.store.takeRateSlot({ kind: 'source', id: pseudonymOf(d.keys, source) }, s.perSourceLimit, s.rateWindowSeconds, now)))
    return PageKind.TooMany;
  const check = checkReportToken(d.keys, token, now);
  if (!check.ok) return check.reason === 'expired' ? PageKind.Expired : PageKind.Invalid;
  if (!(await d.store.takeRateSlot({ kind: 'token', id: check.tokenId }, s.perTokenLimit, s.rateWindowSeconds, now)))
    return PageKind.TooMany;
  // A POST without the button's field (a prefetcher, a bare replay) is asked again, not acted on.
  if (formField(event, CONFIRM_FIELD.name) !== CONFIRM_FIELD.value) return PageKind.Confirm;

  const { dispatchId, toHash } = check.claims;
  const dispatch = await d.store.findDispatch(dispatchId);
  if (!dispatch || dispatch.toHash !== toHash || !dispatch.memberId) return PageKind.Invalid;
  if (dispatch.reportedAt) return PageKind.AlreadyReported;
  const result = await d.store.recordReport({ dispatchId, memberId: dispatch.memberId, toHash, at: now, windowSeconds: s.windowSeconds });
  if (!result.recorded) return PageKind.AlreadyReported;

  const pausedPipeline = result.reportsInWindow >= s.pauseThreshold;
  if (pausedPipeline) {
    // The report is recorded and the pair blocked whatever happens here; a failed pause is logged
    // and still paged (every report raises NotForMeReported), never shown to the recipient.
    await d.pauseSwitch
      .pause({ reason: PauseReason.NotForMeReports, by: PausedBy.NotForMePage, at: now.toISOString() })
      .catch((error: unknown) => d.onError('pausing after reports failed', error));
  }
  d.onReport({ dispatchId, memberId: dispatch.memberId, toHash, reportsInWindow: result.reportsInWindow, pausedPipeline });
  return PageKind.Thanks;
}

/** One field of an `application/x-www-form-urlencoded` body (as the page's form posts it). */
function formField(event: LambdaFunctionURLEvent, name: string): string | null {
  if (!event.body) return null;
  const body = event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
  return new URLSearchParams(body).get(name);
}

function page(kind: PageKind): LambdaFunctionURLResult {
  const rendered = renderPage(kind);
  return { statusCode: rendered.statusCode, headers: { ...rendered.headers }, body: rendered.body };
}

export const handler = createNotForMeHandler(() => createNotForMeDeps());

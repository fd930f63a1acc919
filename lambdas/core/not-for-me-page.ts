/**
 * The "not for me" page, as plain HTML: no script, no image, no font, no third-party asset, one
 * inline style allowed by its hash. It never says whose message it was, what it was about, or
 * where it went: the person reading it may be exactly the one who must not learn that.
 */
import { createHash } from 'node:crypto';

/** Every page the function can answer with. */
export const PageKind = {
  Confirm: 'confirm',
  Thanks: 'thanks',
  AlreadyReported: 'already-reported',
  Invalid: 'invalid',
  Expired: 'expired',
  TooMany: 'too-many',
  Unavailable: 'unavailable',
  NotFound: 'not-found',
  MethodNotAllowed: 'method-not-allowed',
} as const;
export type PageKind = (typeof PageKind)[keyof typeof PageKind];

/** The form's one field: the confirm button's name and value (a POST without it changes nothing). */
export const CONFIRM_FIELD = { name: 'confirm', value: 'yes' } as const;

const STYLE =
  'body{margin:0;font:1.125rem/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1b1b1b;background:#fff}' +
  'main{max-width:36rem;margin:0 auto;padding:2rem 1rem}h1{font-size:1.5rem;line-height:1.25}' +
  'button{font:inherit;font-weight:600;color:#fff;background:#005ea5;border:2px solid #003e6b;border-radius:4px;padding:.75rem 1.25rem;cursor:pointer}' +
  'button:hover{background:#003e6b}button:focus{outline:3px solid #fd0;outline-offset:2px}' +
  '.note{color:#444;font-size:1rem}';

/** The Content-Security-Policy of every page: nothing loads, nothing runs, the form posts only here. */
export const PAGE_CSP = [
  "default-src 'none'",
  `style-src 'sha256-${createHash('sha256').update(STYLE).digest('base64')}'`,
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** Headers of every page: never cached, never framed, never indexed, no referrer leaves. */
export const PAGE_HEADERS: Readonly<Record<string, string>> = {
  'content-type': 'text/html; charset=utf-8',
  'content-security-policy': PAGE_CSP,
  'cache-control': 'no-store',
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'x-robots-tag': 'noindex, nofollow',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

interface PageText {
  readonly status: number;
  readonly title: string;
  readonly paragraphs: readonly string[];
}

const TEXT: Record<PageKind, PageText> = {
  confirm: {
    status: 200,
    title: 'Did you get an e-mail from us that is not for you?',
    paragraphs: [
      'If you were not expecting the e-mail that led you here, it may have been meant for someone else.',
      'Tell us, and we will stop sending e-mails of this kind to your address until we have checked our records.',
    ],
  },
  thanks: {
    status: 200,
    title: 'Thank you for telling us',
    paragraphs: [
      'We will not send more e-mails of this kind to your address until we have checked our records.',
      'You do not need to do anything else. You can delete the e-mail.',
    ],
  },
  'already-reported': {
    status: 200,
    title: 'This e-mail has already been reported',
    paragraphs: ['Thank you. We already know about it, and nothing more is needed from you. You can delete the e-mail.'],
  },
  invalid: {
    status: 400,
    title: 'This link does not work',
    paragraphs: [
      'The link may have been copied incompletely. Nothing has been changed.',
      'If you received an e-mail from us that you were not expecting, you can delete it.',
    ],
  },
  expired: {
    status: 410,
    title: 'This link has expired',
    paragraphs: [
      'Links in our e-mails work for a limited time. Nothing has been changed.',
      'If you received an e-mail from us that you were not expecting, you can delete it.',
    ],
  },
  'too-many': {
    status: 429,
    title: 'Please try again later',
    paragraphs: ['We received too many attempts from this link or this network. Nothing has been changed. Please try again in an hour.'],
  },
  unavailable: {
    status: 503,
    title: 'Something went wrong on our side',
    paragraphs: ['Nothing has been changed. Please try again in a few minutes.'],
  },
  'not-found': { status: 404, title: 'Page not found', paragraphs: ['There is nothing here.'] },
  'method-not-allowed': { status: 405, title: 'Not allowed', paragraphs: ['This page only opens from the link in an e-mail.'] },
};

export interface RenderedPage {
  readonly statusCode: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/**
 * One page. The confirm page's form has no `action`: it posts back to the very URL it was opened
 * at (the token stays in the path and never goes into the page body).
 */
export function renderPage(kind: PageKind): RenderedPage {
  const text = TEXT[kind];
  const form =
    kind === PageKind.Confirm
      ? `<form method="post"><button type="submit" name="${CONFIRM_FIELD.name}" value="${CONFIRM_FIELD.value}">This e-mail is not for me</button></form>` +
        '<p class="note">If the e-mail is for you, close this page: nothing changes unless you press the button.</p>'
      : '';
  const body =
    '<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">' +
    `<meta name="robots" content="noindex, nofollow"><meta name="referrer" content="no-referrer"><title>${text.title}</title><style>${STYLE}</style></head>` +
    `<body><main><h1>${text.title}</h1>${text.paragraphs.map((p) => `<p>${p}</p>`).join('')}${form}</main></body></html>`;
  return {
    statusCode: text.status,
    headers: { ...PAGE_HEADERS, ...(kind === PageKind.MethodNotAllowed ? { allow: 'GET, POST' } : {}) },
    body,
  };
}

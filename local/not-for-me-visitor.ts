import { LocalPipelineError } from './errors';

/** A header only the local page server reads: the visitor's network, so that each person of a scenario has their own. */
export const LOCAL_SOURCE_IP_HEADER = 'x-mail-dispatch-local-source-ip';

export interface PageVisit {
  readonly status: number;
  /** The page's `<h1>`: what the person reads first. */
  readonly heading: string;
}

export interface LinkFollowed {
  readonly opened: PageVisit;
  /** Absent when the page had no form to submit (already reported, bad or expired link). */
  readonly confirmed?: PageVisit;
}

/**
 * Follows a "not for me" link as a person with a plain browser would: opens the page (GET), and if
 * it shows a form, submits it the way the form says (its method, its action resolved against the
 * page's URL, its fields and the name/value of the button pressed), as
 * `application/x-www-form-urlencoded`.
 */
export async function followNotForMeLink(url: string, options: { readonly sourceIp?: string } = {}): Promise<LinkFollowed> {
  const headers: Record<string, string> = options.sourceIp ? { [LOCAL_SOURCE_IP_HEADER]: options.sourceIp } : {};
  const opened = await fetch(url, { headers, redirect: 'follow' });
  const html = await opened.text();
  const openedVisit = { status: opened.status, heading: headingOf(html) };
  const form = /<form\b([^>]*)>([\s\S]*?)<\/form>/i.exec(html);
  if (!form) return { opened: openedVisit };
  const method = (attribute(form[1], 'method') ?? 'get').toUpperCase();
  const action = new URL(attribute(form[1], 'action') || opened.url || url, opened.url || url);
  const fields = new URLSearchParams();
  let pressed = false;
  for (const [, tag, attrs] of form[2].matchAll(/<(input|button)\b([^>]*)>/gi)) {
    const name = attribute(attrs, 'name');
    const type = (attribute(attrs, 'type') ?? (tag.toLowerCase() === 'button' ? 'submit' : 'text')).toLowerCase();
    // Of the submit buttons only the one pressed (the first) is sent; other fields go as they are.
    if (type === 'submit') {
      if (pressed) continue;
      pressed = true;
    }
    if (name) fields.append(name, attribute(attrs, 'value') ?? '');
  }
  if (method !== 'POST' && method !== 'GET')
    throw new LocalPipelineError(`The page's form has method ${method}, which a browser does not submit`);
  const submitted =
    method === 'POST'
      ? await fetch(action, {
          method: 'POST',
          headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' },
          body: fields.toString(),
        })
      : await fetch(new URL(`?${fields}`, action), { headers });
  return { opened: openedVisit, confirmed: { status: submitted.status, heading: headingOf(await submitted.text()) } };
}

function attribute(attrs: string, name: string): string | undefined {
  const match = new RegExp(`\\b${name}\\s*=\\s*(?:"([^"]*)"|'([^']*)'|([^\\s>]+))`, 'i').exec(attrs);
  return match ? decodeEntities(match[1] ?? match[2] ?? match[3] ?? '') : undefined;
}

function headingOf(html: string): string {
  return decodeEntities(
    /<h1\b[^>]*>([\s\S]*?)<\/h1>/i
      .exec(html)?.[1]
      ?.replace(/<[^>]+>/g, '')
      .trim() ?? '',
  );
}

function decodeEntities(text: string): string {
  return text.replace(
    /&(amp|lt|gt|quot|#39|#x27);/g,
    (_, e: string) => ({ amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'", '#x27': "'" })[e] ?? _,
  );
}

/**
 * The deployed template allow-list. Content is PHI-minimal by design: it tells the member that
 * something is waiting in the portal and nothing else (no advice, no patient IDs, no appointment
 * details). `dispatchRef` is filled by the dispatcher, never by the publisher: it lets a member
 * quote the e-mail to support and lets the local pipeline map a stored e-mail to its dispatchId.
 */

/** One `data` key a template accepts. */
export interface TemplateField {
  /** Longest accepted value, in characters. */
  readonly maxLength: number;
  /** @default false */
  readonly required?: boolean;
}

export interface MailTemplate {
  readonly name: string;
  readonly subject: string;
  readonly text: string;
  readonly html: string;
  /** The only `data` keys a publisher may send. */
  readonly fields: Readonly<Record<string, TemplateField>>;
}

/** Key the dispatcher adds to template data; publishers may not set it. */
export const DISPATCH_REF_KEY = 'dispatchRef';
/** The e-mail's "not for me" link, added by the dispatcher at send time; publishers may not set it. */
export const REPORT_URL_KEY = 'notForMeUrl';

const greeting = 'Hello{{#if firstName}} {{firstName}}{{/if}},';
const footer = 'For your privacy this e-mail does not include the message itself.';
const reportText = `Not expecting this e-mail? Tell us: {{${REPORT_URL_KEY}}}`;
const reportHtml = `<p>Not expecting this e-mail? <a href="{{${REPORT_URL_KEY}}}">Tell us</a>.</p>`;

export const TEMPLATES = {
  'advice-nurse-reply': {
    name: 'advice-nurse-reply',
    subject: 'You have a new message in your member portal',
    text: `${greeting}\n\nYou have a new message in your portal. Please sign in to read it.\n\n${footer}\n\nReference: {{${DISPATCH_REF_KEY}}}\n\n${reportText}\n`,
    html: `<p>${greeting}</p><p>You have a new message in your portal. Please sign in to read it.</p><p>${footer}</p><p>Reference: {{${DISPATCH_REF_KEY}}}</p>${reportHtml}`,
    fields: { firstName: { maxLength: 64 } },
  },
  'appointment-reminder': {
    name: 'appointment-reminder',
    subject: 'You have an appointment update in your member portal',
    text: `${greeting}\n\nYou have an appointment update in your portal. Please sign in to see it.\n\n${footer}\n\nReference: {{${DISPATCH_REF_KEY}}}\n\n${reportText}\n`,
    html: `<p>${greeting}</p><p>You have an appointment update in your portal. Please sign in to see it.</p><p>${footer}</p><p>Reference: {{${DISPATCH_REF_KEY}}}</p>${reportHtml}`,
    fields: { firstName: { maxLength: 64 } },
  },
} as const satisfies Record<string, MailTemplate>;

export type TemplateName = keyof typeof TEMPLATES;
export const TEMPLATE_NAMES = Object.keys(TEMPLATES) as TemplateName[];

export function isTemplateName(name: string): name is TemplateName {
  return Object.prototype.hasOwnProperty.call(TEMPLATES, name);
}

/** Reads the "not for me" link back out of a rendered e-mail text (what a person would click). */
export function reportUrlFromText(text: string): string | undefined {
  return /^Not expecting this e-mail\? Tell us: (https?:\/\/\S+)\s*$/m.exec(text)?.[1];
}

/** Reads the dispatchId back out of a rendered e-mail text (the `Reference:` line). */
export function dispatchRefFromText(text: string): string | undefined {
  return /^Reference: ([A-Za-z0-9._:-]{1,128})\s*$/m.exec(text)?.[1];
}

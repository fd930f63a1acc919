import fc from 'fast-check';
import { mailboxOf, normaliseAddress, parseRecipient } from '../../../lambdas/core/address';

const localAtom = fc.stringMatching(/^[a-zA-Z0-9._-]{1,12}$/).filter((s) => !s.startsWith('.') && !s.endsWith('.') && !s.includes('..'));
const tag = fc.stringMatching(/^[a-zA-Z0-9.+_-]{0,10}$/);
const domain = fc.stringMatching(/^[a-zA-Z0-9]{1,10}\.(org|COM|net)$/);

describe('mailboxOf', () => {
  it('12.2b: drops a +tag and the letter case: pat+a@Example.org is pat@example.org', () => {
    expect(mailboxOf('Pat+a@Example.org')).toBe('pat@example.org');
    expect(mailboxOf(' pat+b@example.org ')).toBe('pat@example.org');
    expect(mailboxOf('pat@example.org')).toBe('pat@example.org');
    expect(mailboxOf('pat+a+b@example.org')).toBe('pat@example.org');
  });

  it('12.2b: every +tag of one local part is one mailbox, whatever the case', () => {
    fc.assert(
      fc.property(localAtom, tag, tag, domain, (local, a, b, dom) => {
        const plain = `${local}@${dom}`;
        expect(mailboxOf(`${local}+${a}@${dom}`)).toBe(mailboxOf(plain));
        expect(mailboxOf(`${local.toUpperCase()}+${b}@${dom.toLowerCase()}`)).toBe(mailboxOf(plain));
      }),
    );
  });

  it('is idempotent and never longer than the normalised address', () => {
    fc.assert(
      fc.property(fc.string(), (value) => {
        const mailbox = mailboxOf(value);
        expect(mailboxOf(mailbox)).toBe(mailbox);
        expect(mailbox.length).toBeLessThanOrEqual(normaliseAddress(value).length);
      }),
    );
  });

  it('keeps the domain: the same local part at two domains is two mailboxes', () => {
    fc.assert(
      fc.property(localAtom, tag, domain, domain, (local, t, d1, d2) => {
        fc.pre(d1.toLowerCase() !== d2.toLowerCase());
        expect(mailboxOf(`${local}+${t}@${d1}`)).not.toBe(mailboxOf(`${local}+${t}@${d2}`));
      }),
    );
  });

  it('maps a valid recipient to a valid address without a +', () => {
    fc.assert(
      fc.property(localAtom, tag, domain, (local, t, dom) => {
        const parsed = parseRecipient(`${local}+${t}@${dom}`);
        fc.pre(parsed.ok);
        const mailbox = mailboxOf(parsed.ok ? parsed.address : '');
        expect(mailbox.includes('+')).toBe(false);
        expect(parseRecipient(mailbox)).toEqual({ ok: true, address: mailbox });
      }),
    );
  });
});

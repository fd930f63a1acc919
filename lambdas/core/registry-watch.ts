/**
 * The registry watch's rule (issue 12.2c): after every write to the members table, guarded or
 * raw, the per-mailbox address index (`registry#<mailbox hash>`: `members` in any role, `owners`
 * by own e-mail, the same items the registry guard keeps) says where the member stands *now*.
 * Pure: the handler reads the stream record's images and the member's current item.
 */
import { mailboxOf } from './address';
import { MemberStatus, storedAddresses } from './registry-guard';

/** A member item as stored or as a stream image holds it (a raw write may hold anything). */
export interface MemberImage {
  readonly memberId?: unknown;
  readonly email?: unknown;
  readonly status?: unknown;
  readonly proxies?: unknown;
}

/** Where one member must stand on one mailbox. */
export interface MailboxPlacement {
  /** The mailbox (`mailboxOf`), in clear: the adapter hashes it, nothing logs it. */
  readonly mailbox: string;
  /** In `members` (the fan-in count). */
  readonly member: boolean;
  /** In `owners` (its own e-mail's mailbox). */
  readonly owner: boolean;
}

/**
 * The mailboxes a member holds, as the guard counts them (`decideRegistration`): a closed member
 * (or a deleted item) holds none; any other status, even one a raw write made up, holds its own
 * e-mail's mailbox as owner and each proxy's. Over-counting is the safe direction: an unknown
 * status still counts, since the index is about whose mail may reach a mailbox.
 */
export function mailboxHoldings(image: MemberImage | undefined): Map<string, 'own' | 'proxy'> {
  const held = new Map<string, 'own' | 'proxy'>();
  if (!image || image.status === MemberStatus.Closed) return held;
  for (const mailbox of storedAddresses({ proxies: image.proxies })) held.set(mailbox, 'proxy');
  if (typeof image.email === 'string') held.set(mailboxOf(image.email), 'own');
  return held;
}

/**
 * How the index must look for this member on every mailbox the stream record names (old and new
 * image) or the member's current item holds. The target is always the *current* item, never the
 * record's new image: a record delivered twice, late or out of order moves the index to the same
 * place (idempotent, order-free per member), and every mailbox the member ever joined is named by
 * the record that took it there, so the record that left it (delivered at least once) removes it.
 */
export function placementsFor(
  oldImage: MemberImage | undefined,
  newImage: MemberImage | undefined,
  current: MemberImage | undefined,
): MailboxPlacement[] {
  const now = mailboxHoldings(current);
  const named = new Set([...storedAddresses(oldImage), ...storedAddresses(newImage), ...now.keys()]);
  return [...named].sort().map((mailbox) => ({ mailbox, member: now.has(mailbox), owner: now.get(mailbox) === 'own' }));
}

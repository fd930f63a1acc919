/**
 * The member registry's own guard: the rules a registry write must pass before the dispatcher
 * ever sees the member. Pure: the adapter reads the stored member and the address index items,
 * this decides, the adapter writes (and the write's conditions re-assert the same rules).
 */
import { mailboxOf, parseRecipient } from './address';
import { MEMBER_ID_PATTERN } from './message';

/** Why the registry refused a row. One source for the adapter, the ops CLI and the scenario report. */
export const RegistryRefusal = {
  InvalidMemberId: 'invalid-member-id',
  InvalidEmail: 'invalid-email',
  InvalidStatus: 'invalid-status',
  InvalidProxies: 'invalid-proxies',
  /** The address is another member's own e-mail (waived by `allowShared`). */
  AddressShared: 'address-shared',
  /** The address would be used by more than `fanInLimit` distinct members (never waived). */
  FanInLimit: 'fan-in-limit',
  /**
   * A proxy is another member's own mailbox and that member's `proxyFor` does not list the ward,
   * or an own e-mail is a mailbox other members use as a proxy and this row's `proxyFor` does not
   * list them all (never waived).
   */
  ProxyNotConsented: 'proxy-not-consented',
  InvalidProxyFor: 'invalid-proxy-for',
} as const;
export type RegistryRefusal = (typeof RegistryRefusal)[keyof typeof RegistryRefusal];

export const MemberStatus = {
  Active: 'active',
  Suspended: 'suspended',
  Closed: 'closed',
} as const;
export type MemberStatus = (typeof MemberStatus)[keyof typeof MemberStatus];
const STATUSES: readonly string[] = Object.values(MemberStatus);

/**
 * Most proxies one member may authorise. Keeps one registration inside a single DynamoDB
 * transaction (member + one index item per address, old and new) with room to spare.
 */
export const MAX_PROXIES = 10;

/** Most wards one member may consent to be the proxy of (`proxyFor`). */
export const MAX_PROXY_FOR = 20;

/** A row as a caller hands it in (CSV, JSON, a scenario): anything may be wrong with it. */
export interface MemberRow {
  readonly memberId?: unknown;
  readonly email?: unknown;
  readonly status?: unknown;
  readonly proxies?: unknown;
  /** The wards (memberIds) this member consents to receive mail for at its own address. */
  readonly proxyFor?: unknown;
  readonly suppressed?: unknown;
}

/** A validated member: addresses normalised, proxies de-duplicated and without the own e-mail. */
export interface RegistryMember {
  readonly memberId: string;
  readonly email: string;
  readonly status: MemberStatus;
  readonly proxies: readonly string[];
  /** Wards whose proxy this member's own mailbox may be; sorted, unique. */
  readonly proxyFor: readonly string[];
  /** Absent: keep what is stored (suppression is set by SES feedback, an import must not clear it). */
  readonly suppressed?: boolean;
}

export type RowValidation =
  | { readonly ok: true; readonly member: RegistryMember }
  /** `detail` never carries a field's value: it is safe to log and print. */
  | { readonly ok: false; readonly reason: RegistryRefusal; readonly detail: string };

/** Validates one row; never throws. */
export function validateMemberRow(row: MemberRow): RowValidation {
  const refuse = (reason: RegistryRefusal, detail: string): RowValidation => ({ ok: false, reason, detail });
  if (typeof row.memberId !== 'string' || !MEMBER_ID_PATTERN.test(row.memberId)) {
    return refuse(RegistryRefusal.InvalidMemberId, 'memberId must be 1-64 characters of [A-Za-z0-9._-]');
  }
  if (typeof row.email !== 'string') return refuse(RegistryRefusal.InvalidEmail, 'email is missing');
  const email = parseRecipient(row.email);
  if (!email.ok) return refuse(RegistryRefusal.InvalidEmail, `email ${email.why}`);
  if (typeof row.status !== 'string' || !STATUSES.includes(row.status)) {
    return refuse(RegistryRefusal.InvalidStatus, `status must be one of ${STATUSES.join(', ')}`);
  }
  if (row.suppressed !== undefined && typeof row.suppressed !== 'boolean') {
    return refuse(RegistryRefusal.InvalidStatus, 'suppressed must be true or false');
  }
  const proxies = row.proxies ?? [];
  if (!Array.isArray(proxies)) return refuse(RegistryRefusal.InvalidProxies, 'proxies must be a list of addresses');
  const normalised = new Set<string>();
  for (const [i, proxy] of proxies.entries()) {
    const parsed = typeof proxy === 'string' ? parseRecipient(proxy) : undefined;
    if (!parsed?.ok) return refuse(RegistryRefusal.InvalidProxies, `proxies[${i}] ${parsed?.why ?? 'is not a string'}`);
    if (parsed.address !== email.address) normalised.add(parsed.address);
  }
  if (normalised.size > MAX_PROXIES) return refuse(RegistryRefusal.InvalidProxies, `at most ${MAX_PROXIES} proxies`);
  const proxyFor = row.proxyFor ?? [];
  if (!Array.isArray(proxyFor) || !proxyFor.every((id) => typeof id === 'string' && MEMBER_ID_PATTERN.test(id))) {
    return refuse(RegistryRefusal.InvalidProxyFor, 'proxyFor must be a list of memberIds');
  }
  const wards = [...new Set(proxyFor as string[])].filter((id) => id !== row.memberId).sort();
  if (wards.length > MAX_PROXY_FOR) return refuse(RegistryRefusal.InvalidProxyFor, `at most ${MAX_PROXY_FOR} wards in proxyFor`);
  return {
    ok: true,
    member: {
      memberId: row.memberId,
      email: email.address,
      status: row.status as MemberStatus,
      proxies: [...normalised].sort(),
      proxyFor: wards,
      ...(row.suppressed !== undefined ? { suppressed: row.suppressed } : {}),
    },
  };
}

/**
 * What the address index says about one *mailbox* (`mailboxOf`: `+tag` and case folded, so
 * sub-addresses of one mailbox are one fan-in count and one owner).
 */
export interface AddressHolders {
  /** Members using the mailbox in any role (own e-mail or proxy): the fan-in count. */
  readonly members: readonly string[];
  /** Members holding it as their own e-mail. */
  readonly owners: readonly string[];
  /** The stored `proxyFor` of each owner other than the member being registered (their consent). */
  readonly consents?: Readonly<Record<string, readonly string[]>>;
}

export const NO_HOLDERS: AddressHolders = { members: [], owners: [] };

/** The member's mailboxes as stored (possibly written raw, so read leniently). */
export function storedAddresses(stored: { readonly email?: unknown; readonly proxies?: unknown } | undefined): string[] {
  if (!stored) return [];
  const proxies = stored.proxies instanceof Set ? [...stored.proxies] : Array.isArray(stored.proxies) ? stored.proxies : [];
  const values = [stored.email, ...proxies];
  return [...new Set(values.filter((v): v is string => typeof v === 'string').map(mailboxOf))];
}

/** A stored `proxyFor`, read leniently (a raw write may hold anything). */
export function storedProxyFor(value: unknown): string[] {
  const list = value instanceof Set ? [...value] : Array.isArray(value) ? value : [];
  return list.filter((v): v is string => typeof v === 'string');
}

/** How one index item must change: whether the member is in `members` / `owners` afterwards. */
export interface AddressChange {
  /** The mailbox (`mailboxOf`) whose index item changes. */
  readonly address: string;
  readonly member: boolean;
  readonly owner: boolean;
  /** True when the change puts the member on the address (the write must re-check the limit and owners). */
  readonly adds: boolean;
  /**
   * Consent the write must re-assert atomically: the owners whose stored `proxyFor` must still
   * list this member (a proxy onto their mailbox), and the exact owners the decision saw.
   */
  readonly consent?: { readonly from: readonly string[]; readonly owners: readonly string[] };
  /** The exact members the decision saw (an own mailbox: nobody may become a proxy user unchecked). */
  readonly expectMembers?: readonly string[];
}

export interface RegistrationPolicy {
  readonly fanInLimit: number;
  /** @default false */
  readonly allowShared?: boolean;
}

export type RegistrationDecision =
  | {
      readonly ok: true;
      readonly changes: readonly AddressChange[];
      /** Own mailboxes the member already holds: the write asserts their members are unchanged. */
      readonly checks: readonly { readonly address: string; readonly expectMembers: readonly string[] }[];
    }
  | { readonly ok: false; readonly reason: RegistryRefusal; readonly address: string };

/**
 * Decides whether `member` may hold its addresses, and how the address index must change.
 *
 * `holders` must have an entry for every address in `addressesToRead(member, stored)`.
 * A closed member releases every address (it can be reused); an active or suspended one holds
 * its own e-mail (as owner) and each proxy. A proxy may be another member's own e-mail (a
 * guardian's) and counts toward that address's limit; an own e-mail another member already
 * owns is refused unless `allowShared`. No address may end up with more than `fanInLimit`
 * members: the dispatcher would block the extra ones anyway.
 */
export function decideRegistration(
  member: RegistryMember,
  holders: ReadonlyMap<string, AddressHolders>,
  policy: RegistrationPolicy,
): RegistrationDecision {
  const wanted = wantedAddresses(member);
  const changes: AddressChange[] = [];
  const checks: { address: string; expectMembers: readonly string[] }[] = [];
  for (const address of new Set([...wanted.keys(), ...holders.keys()])) {
    const current = holders.get(address) ?? NO_HOLDERS;
    const isMember = current.members.includes(member.memberId);
    const isOwner = current.owners.includes(member.memberId);
    const want = wanted.get(address);
    const holds = want !== undefined;
    const owner = want === 'own';
    let consent: AddressChange['consent'];
    let expectMembers: AddressChange['expectMembers'];
    if (holds) {
      const otherOwners = current.owners.filter((id) => id !== member.memberId);
      if (owner && otherOwners.length > 0 && !policy.allowShared) return { ok: false, reason: RegistryRefusal.AddressShared, address };
      if (!isMember && current.members.length + 1 > policy.fanInLimit) return { ok: false, reason: RegistryRefusal.FanInLimit, address };
      if (owner) {
        // Everyone already using this mailbox as a proxy must be a ward this member consents to.
        const proxyUsers = current.members.filter((id) => id !== member.memberId && !current.owners.includes(id));
        if (proxyUsers.some((id) => !member.proxyFor.includes(id)))
          return { ok: false, reason: RegistryRefusal.ProxyNotConsented, address };
        expectMembers = current.members;
      } else if (otherOwners.length > 0) {
        // A proxy onto another member's own mailbox: every owner must list this member in proxyFor.
        if (otherOwners.some((id) => !(current.consents?.[id] ?? []).includes(member.memberId))) {
          return { ok: false, reason: RegistryRefusal.ProxyNotConsented, address };
        }
        if (!isMember) consent = { from: otherOwners, owners: current.owners };
      }
    }
    if (holds !== isMember || owner !== isOwner) {
      changes.push({
        address,
        member: holds,
        owner,
        adds: holds && (!isMember || (owner && !isOwner)),
        ...(consent ? { consent } : {}),
        ...(expectMembers ? { expectMembers } : {}),
      });
    } else if (expectMembers) checks.push({ address, expectMembers });
  }
  return { ok: true, changes, checks };
}

/** Every address whose index item the decision needs: the stored member's and the new row's. */
export function addressesToRead(member: RegistryMember, stored?: { readonly email?: unknown; readonly proxies?: unknown }): string[] {
  return [...new Set([...wantedAddresses(member).keys(), ...storedAddresses(stored)])];
}

function wantedAddresses(member: RegistryMember): Map<string, 'own' | 'proxy'> {
  const wanted = new Map<string, 'own' | 'proxy'>();
  if (member.status === MemberStatus.Closed) return wanted;
  for (const proxy of member.proxies) wanted.set(mailboxOf(proxy), 'proxy');
  wanted.set(mailboxOf(member.email), 'own');
  return wanted;
}

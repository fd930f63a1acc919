import fc from 'fast-check';
import {
  MAX_PROXIES,
  NO_HOLDERS,
  addressesToRead,
  decideRegistration,
  validateMemberRow,
  type AddressHolders,
  type MemberRow,
  type RegistryMember,
} from '../../../lambdas/core/registry-guard';

const row = (patch: Partial<Record<keyof MemberRow, unknown>> = {}): MemberRow => ({
  memberId: 'M0001',
  email: 'pat@example.org',
  status: 'active',
  proxies: [],
  ...patch,
});

const member = (patch: Partial<RegistryMember> = {}): RegistryMember => ({
  memberId: 'M0001',
  email: 'pat@example.org',
  status: 'active',
  proxies: [],
  proxyFor: [],
  ...patch,
});

const holders = (entries: Record<string, Partial<AddressHolders>>) =>
  new Map(Object.entries(entries).map(([address, h]) => [address, { ...NO_HOLDERS, ...h }]));

describe('validateMemberRow', () => {
  it('normalises the e-mail and the proxies, drops a proxy equal to the own e-mail, de-duplicates', () => {
    const result = validateMemberRow(
      row({ email: ' Pat@Example.ORG ', proxies: ['Guard@Example.org', 'guard@example.org', 'PAT@example.org'] }),
    );
    expect(result).toEqual({
      ok: true,
      member: { memberId: 'M0001', email: 'pat@example.org', status: 'active', proxies: ['guard@example.org'], proxyFor: [] },
    });
  });

  it('12.3: reads proxyFor as a sorted, unique list of wards, and refuses anything else', () => {
    expect(validateMemberRow(row({ proxyFor: ['K2', 'K1', 'K2', 'M0001'] }))).toMatchObject({
      ok: true,
      member: { proxyFor: ['K1', 'K2'] },
    });
    expect(validateMemberRow(row({ proxyFor: 'K1' }))).toMatchObject({ ok: false, reason: 'invalid-proxy-for' });
    expect(validateMemberRow(row({ proxyFor: ['not a member id'] }))).toMatchObject({ ok: false, reason: 'invalid-proxy-for' });
  });

  it('treats missing proxies as none and keeps an explicit suppressed flag', () => {
    expect(validateMemberRow(row({ proxies: undefined, suppressed: true }))).toMatchObject({
      ok: true,
      member: { proxies: [], suppressed: true },
    });
  });

  it.each([
    ['a missing memberId', row({ memberId: undefined }), 'invalid-member-id'],
    ['a memberId with #', row({ memberId: 'M#1' }), 'invalid-member-id'],
    ['a numeric memberId', row({ memberId: 1234 }), 'invalid-member-id'],
    ['a 65-char memberId', row({ memberId: 'M'.repeat(65) }), 'invalid-member-id'],
    ['a missing email', row({ email: undefined }), 'invalid-email'],
    ['an email with a display name', row({ email: 'Pat <pat@example.org>' }), 'invalid-email'],
    ['two emails', row({ email: 'pat@example.org, eve@example.org' }), 'invalid-email'],
    ['an email with a line break', row({ email: 'pat@example.org\r\nBcc: eve@example.org' }), 'invalid-email'],
    ['an unknown status', row({ status: 'deceased' }), 'invalid-status'],
    ['an upper-case status', row({ status: 'ACTIVE' }), 'invalid-status'],
    ['a missing status', row({ status: undefined }), 'invalid-status'],
    ['a string suppressed flag', row({ suppressed: 'yes' }), 'invalid-status'],
    ['proxies as a string', row({ proxies: 'guard@example.org' }), 'invalid-proxies'],
    ['a bad proxy', row({ proxies: ['guard@example.org', 'not an address'] }), 'invalid-proxies'],
    ['a non-string proxy', row({ proxies: [42] }), 'invalid-proxies'],
    ['too many proxies', row({ proxies: Array.from({ length: MAX_PROXIES + 1 }, (_, i) => `p${i}@example.org`) }), 'invalid-proxies'],
  ])('refuses %s', (_name, input, reason) => {
    const result = validateMemberRow(input);
    expect(result).toMatchObject({ ok: false, reason });
  });

  it('never puts a field value into the refusal detail', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 3 }), fc.constantFrom('email', 'proxies', 'memberId', 'status'), (value, field) => {
        const secret = `zq${value}`;
        const input = field === 'proxies' ? row({ proxies: [secret] }) : row({ [field]: secret });
        const result = validateMemberRow(input);
        return result.ok || !result.detail.includes(secret);
      }),
    );
  });
});

describe('decideRegistration', () => {
  const policy = { fanInLimit: 3 };

  it.each<[string, RegistryMember, Record<string, Partial<AddressHolders>>, { fanInLimit: number; allowShared?: boolean }, string]>([
    [
      'an own e-mail another member owns',
      member(),
      { 'pat@example.org': { members: ['M0002'], owners: ['M0002'] } },
      policy,
      'address-shared',
    ],
    ['an own e-mail at the limit', member(), { 'pat@example.org': { members: ['A', 'B', 'C'] } }, policy, 'fan-in-limit'],
    [
      'a guardian proxy whose address is at the limit (the guardian counts)',
      member({ proxies: ['guard@example.org'] }),
      { 'guard@example.org': { members: ['G', 'K1', 'K2'], owners: ['G'] } },
      policy,
      'fan-in-limit',
    ],
    [
      'an own e-mail another member owns even with a higher limit',
      member(),
      { 'pat@example.org': { members: ['M0002'], owners: ['M0002'] } },
      { fanInLimit: 10 },
      'address-shared',
    ],
    [
      'a shared own e-mail over the limit even with allowShared',
      member(),
      { 'pat@example.org': { members: ['A', 'B', 'C'], owners: ['A'] } },
      { fanInLimit: 3, allowShared: true },
      'fan-in-limit',
    ],
  ])('refuses %s', (_name, m, h, p, reason) => {
    const result = decideRegistration(m, holders(h), p);
    expect(result).toMatchObject({ ok: false, reason });
  });

  it('registers a new member: joins the own address as member and owner', () => {
    expect(decideRegistration(member(), holders({ 'pat@example.org': {} }), policy)).toEqual({
      ok: true,
      changes: [{ address: 'pat@example.org', member: true, owner: true, adds: true, expectMembers: [] }],
      checks: [],
    });
  });

  it("12.3: refuses a proxy that is another member's own address without that member's consent", () => {
    const result = decideRegistration(
      member({ proxies: ['guard@example.org'] }),
      holders({ 'guard@example.org': { members: ['G'], owners: ['G'] }, 'pat@example.org': {} }),
      policy,
    );
    expect(result).toEqual({ ok: false, reason: 'proxy-not-consented', address: 'guard@example.org' });
    // Consent for another ward is not consent for this one.
    const other = holders({ 'guard@example.org': { members: ['G'], owners: ['G'], consents: { G: ['K9'] } }, 'pat@example.org': {} });
    expect(decideRegistration(member({ proxies: ['guard@example.org'] }), other, policy)).toMatchObject({
      ok: false,
      reason: 'proxy-not-consented',
    });
  });

  it("12.3: allows a proxy onto a guardian's own address the guardian consents to, counts it there, and re-asserts the consent", () => {
    const result = decideRegistration(
      member({ proxies: ['guard@example.org'] }),
      holders({ 'guard@example.org': { members: ['G'], owners: ['G'], consents: { G: ['M0001'] } }, 'pat@example.org': {} }),
      policy,
    );
    expect(result).toMatchObject({
      ok: true,
      changes: expect.arrayContaining([
        { address: 'guard@example.org', member: true, owner: false, adds: true, consent: { from: ['G'], owners: ['G'] } },
      ]),
    });
  });

  it('12.3: a proxy onto a +tag of another member’s own mailbox needs the same consent', () => {
    const result = decideRegistration(
      member({ proxies: ['Guard+kids@example.org'] }),
      holders({ 'guard@example.org': { members: ['G'], owners: ['G'] } }),
      policy,
    );
    expect(result).toEqual({ ok: false, reason: 'proxy-not-consented', address: 'guard@example.org' });
  });

  it('12.3: refuses a guardian whose own address its wards already use as a proxy, unless proxyFor lists them all', () => {
    const used = holders({ 'guard@example.org': { members: ['K1', 'K2'] } });
    const guardian = (proxyFor: string[]) => member({ memberId: 'G', email: 'guard@example.org', proxyFor });
    expect(decideRegistration(guardian([]), used, policy)).toEqual({
      ok: false,
      reason: 'proxy-not-consented',
      address: 'guard@example.org',
    });
    expect(decideRegistration(guardian(['K1']), used, policy)).toMatchObject({ ok: false, reason: 'proxy-not-consented' });
    expect(decideRegistration(guardian(['K1', 'K2']), used, policy)).toEqual({
      ok: true,
      changes: [{ address: 'guard@example.org', member: true, owner: true, adds: true, expectMembers: ['K1', 'K2'] }],
      checks: [],
    });
  });

  it('12.3: a guardian cannot withdraw consent while the ward still uses its address', () => {
    const result = decideRegistration(
      member({ memberId: 'G', email: 'guard@example.org', proxyFor: [] }),
      holders({ 'guard@example.org': { members: ['G', 'K1'], owners: ['G'] } }),
      policy,
    );
    expect(result).toMatchObject({ ok: false, reason: 'proxy-not-consented' });
  });

  it('allows a shared own e-mail with allowShared, within the limit', () => {
    const result = decideRegistration(member(), holders({ 'pat@example.org': { members: ['M0002'], owners: ['M0002'] } }), {
      fanInLimit: 3,
      allowShared: true,
    });
    expect(result).toMatchObject({ ok: true });
  });

  it('releases the old address when the e-mail changes', () => {
    const result = decideRegistration(
      member({ email: 'new@example.org' }),
      holders({ 'new@example.org': {}, 'pat@example.org': { members: ['M0001', 'K'], owners: ['M0001'] } }),
      policy,
    );
    expect(result).toEqual({
      ok: true,
      changes: [
        { address: 'new@example.org', member: true, owner: true, adds: true, expectMembers: [] },
        { address: 'pat@example.org', member: false, owner: false, adds: false },
      ],
      checks: [],
    });
  });

  it('keeps a member already counted on a full address (a no-op update is not refused)', () => {
    const full = holders({ 'pat@example.org': { members: ['M0001', 'B', 'C'], owners: ['M0001', 'B', 'C'] } });
    const result = decideRegistration(member(), full, { ...policy, allowShared: true });
    expect(result).toEqual({ ok: true, changes: [], checks: [{ address: 'pat@example.org', expectMembers: ['M0001', 'B', 'C'] }] });
  });

  it('moves an address from own e-mail to proxy without leaving it', () => {
    const result = decideRegistration(
      member({ email: 'new@example.org', proxies: ['pat@example.org'] }),
      holders({ 'new@example.org': {}, 'pat@example.org': { members: ['M0001'], owners: ['M0001'] } }),
      policy,
    );
    expect(result).toMatchObject({
      ok: true,
      changes: expect.arrayContaining([{ address: 'pat@example.org', member: true, owner: false, adds: false }]),
    });
  });

  it('releases every address of a closed member', () => {
    const m = member({ status: 'closed', proxies: ['guard@example.org'] });
    const result = decideRegistration(
      m,
      holders({
        'pat@example.org': { members: ['M0001'], owners: ['M0001'] },
        'guard@example.org': { members: ['M0001', 'G'], owners: ['G'] },
      }),
      policy,
    );
    expect(result).toEqual({
      ok: true,
      changes: [
        { address: 'pat@example.org', member: false, owner: false, adds: false },
        { address: 'guard@example.org', member: false, owner: false, adds: false },
      ],
      checks: [],
    });
  });

  it('never lets an address exceed the limit, whatever the holders', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.uniqueArray(fc.constantFrom('A', 'B', 'C', 'D', 'E', 'F', 'M0001'), { maxLength: 7 }),
        (limit, current) => {
          const shared = holders({ 'pat@example.org': { members: current, owners: current } });
          const result = decideRegistration(member(), shared, { fanInLimit: limit, allowShared: true });
          const after = new Set([...current, 'M0001']).size;
          return result.ok ? after <= limit || current.includes('M0001') : result.reason === 'fan-in-limit';
        },
      ),
    );
  });
});

describe('addressesToRead', () => {
  it("reads the stored member's addresses as well as the new ones", () => {
    expect(addressesToRead(member(), { email: 'Old@example.org', proxies: ['g@example.org', 7] }).sort()).toEqual([
      'g@example.org',
      'old@example.org',
      'pat@example.org',
    ]);
  });
});

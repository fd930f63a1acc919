import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { hashAddress } from '../../../lambdas/core/address';
import {
  DynamoDbMemberRegistry,
  getMember,
  registerMembers,
  type RegisterMembersOptions,
} from '../../../lambdas/adapters/dynamodb-member-registry';
import { LedgerKey } from '../../../lambdas/tables';
import { startEmbeddedAws, type EmbeddedAws } from '../../../local/embedded-aws';
import { putMembersRaw } from '../../support/members';

const HASH_KEY = 'registry-test-key';

describe('DynamoDbMemberRegistry', () => {
  let aws: EmbeddedAws;
  let options: RegisterMembersOptions;
  let seq = 0;
  /** A fresh address per test: the tables are shared by the whole file. */
  const addr = (name: string) => `${name}-${seq}@example.org`;
  const id = (name: string) => `${name}-${seq}`;

  beforeAll(async () => {
    aws = await startEmbeddedAws({ addressHashKey: HASH_KEY });
    options = { tables: aws.tables, hashKey: HASH_KEY, fanInLimit: 3, client: aws.clients.dynamodb };
  });
  afterAll(async () => {
    await aws?.stop();
  });
  beforeEach(() => {
    seq += 1;
  });

  async function holders(address: string) {
    const { Item } = await aws.clients.dynamodb.send(
      new GetItemCommand({
        TableName: aws.tables.ledger,
        Key: { pk: { S: LedgerKey.registry(hashAddress(address, HASH_KEY)) } },
        ConsistentRead: true,
      }),
    );
    const item = Item ? unmarshall(Item) : {};
    return { members: [...((item.members as Set<string>) ?? [])].sort(), owners: [...((item.owners as Set<string>) ?? [])].sort() };
  }

  it('stores a member in the documented shape and counts it on its addresses', async () => {
    const result = await registerMembers(
      [{ memberId: id('M'), email: ` ${addr('Pat').toUpperCase()} `, status: 'active', proxies: [addr('care')] }],
      options,
    );
    expect(result).toEqual({ registered: [id('M')], refused: [], failed: [] });
    const stored = await getMember(id('M'), { tables: aws.tables, client: aws.clients.dynamodb });
    expect(stored).toEqual({
      memberId: id('M'),
      email: addr('pat'),
      status: 'active',
      proxies: [addr('care')],
      proxyFor: [],
      updatedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      version: 1,
    });
    expect(await holders(addr('pat'))).toEqual({ members: [id('M')], owners: [id('M')] });
    expect(await holders(addr('care'))).toEqual({ members: [id('M')], owners: [] });
  });

  it("12.3: refuses a proxy that is another member's own address without that member's consent", async () => {
    await registerMembers([{ memberId: id('G'), email: addr('guardian'), status: 'active' }], options);
    const result = await registerMembers(
      [{ memberId: id('K'), email: addr('kid'), status: 'active', proxies: [addr('guardian')] }],
      options,
    );
    expect(result).toEqual({ registered: [], refused: [{ memberId: id('K'), reason: 'proxy-not-consented' }], failed: [] });
    expect(await holders(addr('guardian'))).toEqual({ members: [id('G')], owners: [id('G')] });
    // A +tag of the guardian's address is the guardian's mailbox: the same rule.
    const tagged = addr('guardian').replace('@', '+kids@');
    const again = await registerMembers([{ memberId: id('K'), email: addr('kid'), status: 'active', proxies: [tagged] }], options);
    expect(again.refused).toEqual([{ memberId: id('K'), reason: 'proxy-not-consented' }]);
  });

  it('12.3: registers the proxy once the guardian lists the ward in proxyFor, in either order', async () => {
    const guardian = { memberId: id('G'), email: addr('guardian'), status: 'active', proxyFor: [id('K')] };
    const ward = { memberId: id('K'), email: addr('kid'), status: 'active', proxies: [addr('guardian')] };
    expect(await registerMembers([guardian, ward], options)).toEqual({ registered: [id('G'), id('K')], refused: [], failed: [] });
    expect(await holders(addr('guardian'))).toEqual({ members: [id('G'), id('K')], owners: [id('G')] });
    // The other order: the ward's proxy first, then the guardian claims the address as its own.
    seq += 1;
    const ward2 = { memberId: id('K'), email: addr('kid'), status: 'active', proxies: [addr('guardian')] };
    const unconsenting = { memberId: id('G'), email: addr('guardian'), status: 'active' };
    expect((await registerMembers([ward2, unconsenting], options)).refused).toEqual([{ memberId: id('G'), reason: 'proxy-not-consented' }]);
    const consenting = { ...unconsenting, proxyFor: [id('K')] };
    expect((await registerMembers([consenting], options)).registered).toEqual([id('G')]);
    // Withdrawing the consent while the ward still uses the address is refused.
    expect((await registerMembers([unconsenting], options)).refused).toEqual([{ memberId: id('G'), reason: 'proxy-not-consented' }]);
  });

  it('12.3: the consent is re-asserted in the write: a guardian item changed raw since the read refuses the proxy', async () => {
    await registerMembers([{ memberId: id('G'), email: addr('guardian'), status: 'active', proxyFor: [id('K')] }], options);
    const registry = new DynamoDbMemberRegistry(options);
    // Between the guard's read and its write, a raw write withdraws the consent.
    let withdrawn = false;
    aws.clients.dynamodb.middlewareStack.add(
      (next, context) => async (args) => {
        if (!withdrawn && context.commandName === 'TransactWriteItemsCommand') {
          withdrawn = true;
          await putMembersRaw(aws.clients.dynamodb, aws.tables.members, [
            { memberId: id('G'), email: addr('guardian'), status: 'active', proxyFor: [], version: 1 },
          ]);
        }
        return next(args);
      },
      { step: 'initialize', name: 'withdrawConsent' },
    );
    try {
      const result = await registry.register({ memberId: id('K'), email: addr('kid'), status: 'active', proxies: [addr('guardian')] });
      expect(withdrawn).toBe(true);
      expect(result).toMatchObject({ outcome: 'refused', reason: 'proxy-not-consented' });
    } finally {
      aws.clients.dynamodb.middlewareStack.remove('withdrawConsent');
    }
  });

  it('12.2b: counts sub-addresses of one mailbox together: the fourth +tag member is refused', async () => {
    const rows = [1, 2, 3, 4].map((n) => ({ memberId: id(`T${n}`), email: addr('victim').replace('@', `+${n}@`), status: 'active' }));
    const result = await registerMembers(rows, { ...options, allowShared: true });
    expect(result.registered).toEqual([id('T1'), id('T2'), id('T3')]);
    expect(result.refused).toEqual([{ memberId: id('T4'), reason: 'fan-in-limit' }]);
  });

  it('refuses every reason, registers the rest, and loses no row', async () => {
    const rows = [
      // A guardian consenting to three wards (12.3): the third still finds the address full.
      { memberId: id('A'), email: addr('a'), status: 'active', proxyFor: [id('K1'), id('K2'), id('K3')] },
      { memberId: 'bad id', email: addr('x'), status: 'active' },
      { memberId: id('B'), email: 'Pat <p@example.org>', status: 'active' },
      { memberId: id('C'), email: addr('c'), status: 'gone' },
      { memberId: id('D'), email: addr('d'), status: 'active', proxies: 'nope' },
      { memberId: id('E'), email: addr('a'), status: 'active' },
      { memberId: id('K1'), email: addr('k1'), status: 'active', proxies: [addr('a')] },
      { memberId: id('K2'), email: addr('k2'), status: 'active', proxies: [addr('a')] },
      { memberId: id('K3'), email: addr('k3'), status: 'active', proxies: [addr('a')] },
      { memberId: id('F'), email: addr('f'), status: 'active' },
    ];
    const result = await registerMembers(rows, options);
    expect(result.refused).toEqual([
      { memberId: 'bad id', reason: 'invalid-member-id' },
      { memberId: id('B'), reason: 'invalid-email' },
      { memberId: id('C'), reason: 'invalid-status' },
      { memberId: id('D'), reason: 'invalid-proxies' },
      { memberId: id('E'), reason: 'address-shared' },
      { memberId: id('K3'), reason: 'fan-in-limit' },
    ]);
    expect(result.registered).toEqual([id('A'), id('K1'), id('K2'), id('F')]);
    expect(result.failed).toEqual([]);
    // The guardian's address counts the guardian and both wards, and nobody else.
    expect(await holders(addr('a'))).toEqual({ members: [id('A'), id('K1'), id('K2')].sort(), owners: [id('A')] });
    expect(await getMember(id('K3'), { tables: aws.tables, client: aws.clients.dynamodb })).toBeUndefined();
  });

  it('allows a shared own e-mail with allowShared, but never past the limit', async () => {
    const shared = { ...options, allowShared: true };
    const rows = ['A', 'B', 'C', 'D'].map((name) => ({ memberId: id(name), email: addr('family'), status: 'active' }));
    const result = await registerMembers(rows, shared);
    expect(result.registered).toEqual([id('A'), id('B'), id('C')]);
    expect(result.refused).toEqual([{ memberId: id('D'), reason: 'fan-in-limit' }]);
  });

  it('updates a member: a changed e-mail releases the old address, the version goes up, suppression is kept', async () => {
    const registry = new DynamoDbMemberRegistry(options);
    await registry.register({ memberId: id('M'), email: addr('old'), status: 'active', suppressed: true, proxyFor: [id('X')] });
    await registry.register({ memberId: id('X'), email: addr('x'), status: 'active', proxies: [addr('old')] });
    const update = await registry.register({ memberId: id('M'), email: addr('new'), status: 'active' });
    expect(update).toEqual({ outcome: 'registered', memberId: id('M'), version: 2 });
    expect(await holders(addr('old'))).toEqual({ members: [id('X')], owners: [] });
    expect(await holders(addr('new'))).toEqual({ members: [id('M')], owners: [id('M')] });
    expect(await registry.get(id('M'))).toMatchObject({ email: addr('new'), version: 2, suppressed: true });
    // The released address can now be someone else's own e-mail, if it consents to X's proxy (12.3).
    expect(await registry.register({ memberId: id('N'), email: addr('old'), status: 'active' })).toMatchObject({
      outcome: 'refused',
      reason: 'proxy-not-consented',
    });
    expect(await registry.register({ memberId: id('N'), email: addr('old'), status: 'active', proxyFor: [id('X')] })).toMatchObject({
      outcome: 'registered',
    });
  });

  it('releases every address of a closed member', async () => {
    const registry = new DynamoDbMemberRegistry(options);
    await registry.register({ memberId: id('M'), email: addr('m'), status: 'active', proxies: [addr('g')] });
    await registry.register({ memberId: id('M'), email: addr('m'), status: 'closed', proxies: [addr('g')] });
    expect(await holders(addr('m'))).toEqual({ members: [], owners: [] });
    expect(await holders(addr('g'))).toEqual({ members: [], owners: [] });
    expect(await registry.get(id('M'))).toMatchObject({ status: 'closed', version: 2 });
  });

  it('takes over a member written raw (no version, not in the index)', async () => {
    await putMembersRaw(aws.clients.dynamodb, aws.tables.members, [{ memberId: id('R'), email: addr('r'), status: 'active' }]);
    const registry = new DynamoDbMemberRegistry(options);
    expect(await registry.register({ memberId: id('R'), email: addr('r2'), status: 'active' })).toMatchObject({
      outcome: 'registered',
      version: 1,
    });
    expect(await holders(addr('r2'))).toEqual({ members: [id('R')], owners: [id('R')] });
  });

  it('lets only as many concurrent registrations onto an address as the limit allows', async () => {
    const rows = Array.from({ length: 8 }, (_, i) => ({
      memberId: id(`P${i}`),
      email: addr(`p${i}`),
      status: 'active',
      proxies: [addr('hub')],
    }));
    const registry = new DynamoDbMemberRegistry({ ...options, conflictRetries: 20 });
    const results = await Promise.all(rows.map((row) => registry.register(row)));
    expect(results.filter((r) => r.outcome === 'registered')).toHaveLength(3);
    expect(results.filter((r) => r.outcome === 'refused').map((r) => 'reason' in r && r.reason)).toEqual(Array(5).fill('fan-in-limit'));
    expect((await holders(addr('hub'))).members).toHaveLength(3);
  });

  it('reports a store failure per row and goes on', async () => {
    const broken = { ...options, tables: { ...aws.tables, ledger: 'no-such-table' } };
    const result = await registerMembers([{ memberId: id('Z'), email: addr('z'), status: 'active' }], broken);
    expect(result.registered).toEqual([]);
    expect(result.failed).toEqual([{ memberId: id('Z'), error: expect.stringContaining('DynamoDB') }]);
    expect(result.failed[0]?.error).not.toContain(addr('z'));
  });

  it('registerMany gives the answers of registering row by row in order, shared addresses and updates included', async () => {
    const registry = new DynamoDbMemberRegistry(options);
    await registry.register({ memberId: id('OLD'), email: addr('old'), status: 'active' });
    const rows = [
      { memberId: id('A'), email: addr('a'), status: 'active', proxies: [addr('guardian')] },
      { memberId: id('B'), email: addr('b'), status: 'active', proxies: [addr('guardian')] },
      { memberId: id('C'), email: addr('a'), status: 'active' }, // A's own address: address-shared
      { memberId: id('D'), email: addr('d'), status: 'active', proxies: [addr('guardian')] },
      { memberId: id('E'), email: addr('e'), status: 'active', proxies: [addr('guardian')] }, // a fourth member: fan-in-limit
      { memberId: id('OLD'), email: addr('new'), status: 'active' }, // an update releases the old address
      { memberId: 'bad id', email: addr('x'), status: 'active' },
      ...Array.from({ length: 120 }, (_, i) => ({ memberId: id(`N${i}`), email: addr(`n${i}`), status: 'active' })),
    ];
    const results = await registry.registerMany(rows);
    expect(results.slice(0, 7).map((r) => [r.memberId, r.outcome, r.outcome === 'refused' ? r.reason : undefined])).toEqual([
      [id('A'), 'registered', undefined],
      [id('B'), 'registered', undefined],
      [id('C'), 'refused', 'address-shared'],
      [id('D'), 'registered', undefined],
      [id('E'), 'refused', 'fan-in-limit'],
      [id('OLD'), 'registered', undefined],
      ['bad id', 'refused', 'invalid-member-id'],
    ]);
    expect(results.slice(7).every((r) => r.outcome === 'registered')).toBe(true);
    expect(await holders(addr('guardian'))).toEqual({ members: [id('A'), id('B'), id('D')].sort(), owners: [] });
    expect(await holders(addr('old'))).toEqual({ members: [], owners: [] });
    expect(await getMember(id('OLD'), { tables: aws.tables, client: aws.clients.dynamodb })).toMatchObject({
      email: addr('new'),
      version: 2,
    });
    expect(await getMember(id('N119'), { tables: aws.tables, client: aws.clients.dynamodb })).toMatchObject({ version: 1 });
  });
});

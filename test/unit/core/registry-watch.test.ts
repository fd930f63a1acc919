import { mailboxHoldings, placementsFor } from '../../../lambdas/core/registry-watch';

describe('mailboxHoldings', () => {
  it.each([
    [
      'an active member: its own mailbox as owner, each proxy',
      { email: 'Pat+a@Example.org', status: 'active', proxies: ['nurse@example.org'] },
      [
        ['nurse@example.org', 'proxy'],
        ['pat@example.org', 'own'],
      ],
    ],
    ['a suspended member still holds its mailboxes', { email: 'pat@example.org', status: 'suspended' }, [['pat@example.org', 'own']]],
    [
      'a status a raw write made up still holds (over-counting is the safe side)',
      { email: 'pat@example.org', status: 'ACTIVE ' },
      [['pat@example.org', 'own']],
    ],
    ['a closed member holds nothing', { email: 'pat@example.org', status: 'closed', proxies: ['x@example.org'] }, []],
    [
      'an own e-mail also listed as a proxy is held as owner',
      { email: 'pat@example.org', status: 'active', proxies: ['PAT+kid@example.org'] },
      [['pat@example.org', 'own']],
    ],
    [
      'proxies as a string set (raw write) are read too',
      { email: 'pat@example.org', status: 'active', proxies: new Set(['g@example.org']) },
      [
        ['g@example.org', 'proxy'],
        ['pat@example.org', 'own'],
      ],
    ],
    ['a non-string e-mail holds no own mailbox', { email: 42, status: 'active', proxies: ['g@example.org'] }, [['g@example.org', 'proxy']]],
  ])('%s', (_, image, expected) => {
    expect([...mailboxHoldings(image).entries()].sort()).toEqual(expected);
  });

  it('a deleted item holds nothing', () => {
    expect(mailboxHoldings(undefined).size).toBe(0);
  });
});

describe('placementsFor', () => {
  const at = (email: string, proxies: string[] = []) => ({ memberId: 'M1', email, status: 'active', proxies });

  it('takes the member off the mailbox it moved away from and puts it on the new one', () => {
    expect(placementsFor(at('old@example.org'), at('new@example.org'), at('new@example.org'))).toEqual([
      { mailbox: 'new@example.org', member: true, owner: true },
      { mailbox: 'old@example.org', member: false, owner: false },
    ]);
  });

  it('follows the current item, not the record: a stale record moves the index to the present', () => {
    // The record said "joined old@"; the member has since moved to new@.
    expect(placementsFor(undefined, at('old@example.org'), at('new@example.org'))).toEqual([
      { mailbox: 'new@example.org', member: true, owner: true },
      { mailbox: 'old@example.org', member: false, owner: false },
    ]);
  });

  it('a deleted member leaves every mailbox its images name', () => {
    expect(placementsFor(at('pat@example.org', ['g@example.org']), undefined, undefined)).toEqual([
      { mailbox: 'g@example.org', member: false, owner: false },
      { mailbox: 'pat@example.org', member: false, owner: false },
    ]);
  });

  it('+tag and case variants are one mailbox', () => {
    expect(placementsFor(at('Victim+1@Example.org'), at('victim+2@example.org'), at('VICTIM+2@example.org'))).toEqual([
      { mailbox: 'victim@example.org', member: true, owner: true },
    ]);
  });

  it('a proxy is held as member, not owner', () => {
    expect(
      placementsFor(undefined, at('pat@example.org', ['nurse@example.org']), at('pat@example.org', ['nurse@example.org'])),
    ).toContainEqual({
      mailbox: 'nurse@example.org',
      member: true,
      owner: false,
    });
  });
});

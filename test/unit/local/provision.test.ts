import { ledgerTableInput, membersTableInput } from '../../../local/provision';

describe('local table definitions without streams (the bench)', () => {
  it.each([
    ['members', membersTableInput],
    ['ledger', ledgerTableInput],
  ] as const)('the %s table differs from the deployed definition only by its stream', (_, input) => {
    const deployed = input('t-x', {});
    const { StreamSpecification, ...rest } = deployed;
    expect(StreamSpecification).toEqual({ StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' });
    expect(input('t-x', { streams: false })).toEqual(rest);
    expect(input('t-x')).toEqual(deployed);
  });
});

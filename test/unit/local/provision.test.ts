import { javaOptions } from '../../../local/dynamodb-local';
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

describe('DynamoDB Local JVM flags', () => {
  it('stops at C1 for a short run and compiles fully for a long one (the bench); the env variable replaces both', () => {
    expect(javaOptions(false, {})).toContain('-XX:TieredStopAtLevel=1');
    expect(javaOptions(true, {})).not.toContain('-XX:TieredStopAtLevel=1');
    expect(javaOptions(true, {})).toEqual(expect.arrayContaining(['-XX:+UseSerialGC', '-Xmx1g']));
    expect(javaOptions(false, { DYNAMODB_LOCAL_JAVA_OPTS: ' -Xmx2g  -XX:+UseParallelGC ' })).toEqual(['-Xmx2g', '-XX:+UseParallelGC']);
  });
});

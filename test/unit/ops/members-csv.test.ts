import { UsageError } from '../../../cli/src/ops/errors';
import { parseMembersCsv } from '../../../cli/src/ops/members';

describe('parseMembersCsv', () => {
  it('reads rows with their line numbers, splits proxies and reads the suppressed flag', () => {
    const rows = parseMembersCsv(
      '\ufeffmemberId,email,status,proxies,suppressed\n' +
        'M1, pat@example.org ,active,"g@example.org; n@example.org",TRUE\n' +
        '\n' +
        'M2,lee@example.org,suspended,,\n' +
        'M3,sam@example.org,active,,no\n',
    );
    expect(rows.malformed).toEqual([]);
    expect(rows.rows).toEqual([
      {
        line: 2,
        row: {
          memberId: 'M1',
          email: 'pat@example.org',
          status: 'active',
          proxies: ['g@example.org', 'n@example.org'],
          suppressed: true,
          proxyFor: [],
        },
      },
      { line: 4, row: { memberId: 'M2', email: 'lee@example.org', status: 'suspended', proxies: [], suppressed: undefined, proxyFor: [] } },
      { line: 5, row: { memberId: 'M3', email: 'sam@example.org', status: 'active', proxies: [], suppressed: 'no', proxyFor: [] } },
    ]);
  });

  it('accepts a file with only the required columns', () => {
    expect(parseMembersCsv('memberId,email,status\nM1,pat@example.org,active\n').rows).toHaveLength(1);
  });

  it.each([
    ['a missing column', 'memberId,status\nM1,active\n', 'missing column(s) email'],
    ['an unknown column', 'memberId,email,status,phone\nM1,p@example.org,active,1\n', 'unknown column(s) phone'],
    ['an unclosed quote', 'memberId,email,status\nM1,"p@example.org,active\n', 'cannot be read'],
    ['an empty file', '', 'The CSV file is empty'],
    ['a header-only file', 'memberId,email,status\n', 'has a header but no rows'],
    ['a wrong header with no rows', 'id,e-mail,status\n', 'missing column(s) memberId, email'],
  ])('refuses %s as a usage error', (_name, text, message) => {
    expect(() => parseMembersCsv(text)).toThrow(UsageError);
    expect(() => parseMembersCsv(text)).toThrow(message);
  });

  it.each([
    ['too many fields', 'M2,q@example.org,active,extra', 'the row has 4 fields, the header has 3'],
    ['too few fields', 'M2,q@example.org', 'the row has 2 fields, the header has 3'],
  ])('refuses a row with %s (malformed-row, its line, no value) and reads the others', (_name, bad, detail) => {
    const csv = parseMembersCsv(`memberId,email,status\nM1,p@example.org,active\n${bad}\nM3,r@example.org,active\n`);
    expect(csv.rows.map((r) => [r.line, r.row.memberId])).toEqual([
      [2, 'M1'],
      [4, 'M3'],
    ]);
    expect(csv.malformed).toEqual([{ line: 3, memberId: 'M2', reason: 'malformed-row', detail: expect.stringContaining(detail) }]);
    expect(JSON.stringify(csv.malformed)).not.toContain('q@example.org');
  });

  it('does not echo a field value in a parse error', () => {
    try {
      parseMembersCsv('memberId,email,status\nM1,"secret@example.org,active\n');
      throw new Error('no error');
    } catch (error) {
      expect((error as Error).message).not.toContain('secret@example.org');
    }
  });
});

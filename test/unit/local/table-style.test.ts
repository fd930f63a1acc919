import Table from 'cli-table3';
import { tableStyle } from '../../../local/table-style';

const PLAIN = { style: { head: [], border: [] } };

describe('tableStyle', () => {
  it.each([
    ['a terminal', true, {}, {}],
    ['a pipe or file', false, {}, PLAIN],
    ['a stream that does not say', undefined, {}, PLAIN],
    ['a terminal with NO_COLOR set', true, { NO_COLOR: '1' }, PLAIN],
    ['a terminal with NO_COLOR empty (unset, per no-color.org)', true, { NO_COLOR: '' }, {}],
  ])('on %s', (_name, isTTY, env, expected) => {
    expect(tableStyle({ isTTY }, env)).toEqual(expected);
  });

  it('gives a table without ANSI codes when the output is not a terminal', () => {
    const table = new Table({ head: ['run', ''], ...tableStyle({ isTTY: false }, {}) });
    table.push(['messages', 2574]);
    expect(table.toString()).not.toContain('\u001b[');
    expect(table.toString()).toContain('messages');
  });
});

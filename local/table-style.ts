import type Table from 'cli-table3';

type TableStyle = NonNullable<ConstructorParameters<typeof Table>[0]>['style'];

/**
 * cli-table3 colours its heads and borders whatever the output is: keep the colours for a
 * terminal only, so a table piped to a file or a CI log carries no ANSI codes. `NO_COLOR`
 * (any non-empty value, https://no-color.org) turns them off on a terminal too.
 */
export function tableStyle(stream: { readonly isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): { style?: TableStyle } {
  const colour = stream.isTTY === true && !env.NO_COLOR;
  return colour ? {} : { style: { head: [], border: [] } };
}

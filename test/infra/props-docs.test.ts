import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import * as ts from 'typescript';
import { DEFAULT_SETTINGS, SETTING_KEYS } from '../../lib/settings';

/**
 * MailDispatch's props are the DeploymentSettings keys (lib/settings.ts); a team reads their
 * `@default` in the editor. Each must be the value the code really uses (DEFAULT_SETTINGS, from
 * lambdas/core/defaults.ts), or the documentation lies the day a default changes.
 */
function documentedDefaults(): Map<string, string> {
  const file = path.join(__dirname, '..', '..', 'lib', 'settings.ts');
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const found = new Map<string, string>();
  const visit = (node: ts.Node) => {
    if (ts.isInterfaceDeclaration(node) && node.name.text === 'DeploymentSettings') {
      for (const member of node.members) {
        if (!ts.isPropertySignature(member)) continue;
        const tag = ts.getJSDocTags(member).find((t) => t.tagName.text === 'default');
        found.set((member.name as ts.Identifier).text, ts.getTextOfJSDocComment(tag?.comment)?.trim() ?? '');
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/** The value at the start of a `@default` text: `'text'`, `[]`, a number or a boolean. */
function leadingValue(text: string): unknown {
  const quoted = /^'([^']*)'/.exec(text);
  if (quoted) return quoted[1];
  const [first] = text.split(/\s/);
  if (first === '[]') return [];
  if (first === 'true' || first === 'false') return first === 'true';
  return Number(first);
}

describe('the documented @default of every MailDispatch prop', () => {
  const documented = documentedDefaults();

  it('exists for every prop', () => {
    expect([...documented.keys()].sort()).toEqual([...SETTING_KEYS].sort());
    for (const [key, text] of documented) expect({ key, text }).toEqual({ key, text: expect.stringMatching(/\S/) });
  });

  it.each(SETTING_KEYS)('%s is the default the code uses', (key) => {
    expect(leadingValue(documented.get(key) ?? '')).toEqual(DEFAULT_SETTINGS[key]);
  });
});

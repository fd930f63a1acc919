import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { buildTeamApp } from '../../docs/examples/team-app';
import { actionsOf } from './support/stack-fixture';

const ROOT = path.join(__dirname, '..', '..');

describe("the README's embedding example (docs/examples/team-app.ts, type-checked by tsc with the rest)", () => {
  it('is in the README word for word', () => {
    const example = readFileSync(path.join(ROOT, 'docs', 'examples', 'team-app.ts'), 'utf8').trim();
    const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    expect(readme).toContain(`\`\`\`ts\n${example}\n\`\`\``);
  });

  it('synthesises the whole pipeline in the team stack and lets the portal role publish', () => {
    // Not bundled, and not schema-checked: the real synth (test/infra/bin) does both for our own app.
    const stack = buildTeamApp(new App({ builtinCloudFormationValidation: false, context: { 'aws:cdk:bundling-stacks': [] } }));
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::Lambda::Function', 7);
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'oncall@example.org' });
    const portalPolicy = Object.values(template.findResources('AWS::IAM::Policy')).find((policy) =>
      JSON.stringify(policy.Properties.Roles).includes('portal-backend'),
    );
    expect(portalPolicy?.Properties.PolicyDocument.Statement.flatMap(actionsOf).sort()).toEqual([
      'kms:Decrypt',
      'kms:GenerateDataKey',
      'sqs:SendMessage',
    ]);
    const dispatcher = Object.values(template.findResources('AWS::Lambda::Function')).find(
      (fn) => fn.Properties.Environment?.Variables?.FROM_ADDRESS !== undefined,
    );
    expect(dispatcher?.Properties.Environment.Variables.FROM_ADDRESS).toBe('no-reply@notices.example.org');
  });
});

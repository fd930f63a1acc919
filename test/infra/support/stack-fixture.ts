import { App, type Environment, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import { MailDispatchStack } from '../../../lib/mail-dispatch-stack';
import type { MailDispatchProps } from '../../../lib/mail-dispatch';

/**
 * Builds the whole stack (this bundles its six functions with esbuild: seconds), so test
 * files build it once, in `beforeAll`.
 */
export function synthMailDispatch(settings: MailDispatchProps = {}) {
  const app = new App();
  const stack = new MailDispatchStack(app, 'MailDispatchTest', { pipeline: settings });
  return { app, stack, template: Template.fromStack(stack) };
}

/** A bare stack and key, for constructs that need no function (fast: nothing to bundle). */
export function bareStack(env?: Environment) {
  const app = new App();
  const stack = new Stack(app, 'ConstructTest', { env });
  const key = new kms.Key(stack, 'Key', { enableKeyRotation: true });
  return { app, stack, key, keyArn: { 'Fn::GetAtt': [stack.getLogicalId(key.node.defaultChild as kms.CfnKey), 'Arn'] } };
}

/** The one resource of a type whose logical id starts with `prefix` (or matches it, for a RegExp). */
export function logicalIdOf(template: Template, type: string, prefix: string | RegExp): string {
  const ids = Object.keys(template.findResources(type)).filter((id) =>
    typeof prefix === 'string' ? id.startsWith(prefix) : prefix.test(id),
  );
  if (ids.length !== 1) throw new Error(`expected one ${type} starting with ${prefix}, found ${ids.join(', ') || 'none'}`);
  return ids[0];
}

export interface Statement {
  readonly Sid?: string;
  readonly Effect: string;
  readonly Action: string | string[];
  readonly Resource: unknown;
  readonly Condition?: Record<string, Record<string, unknown>>;
}

/** Every statement of every policy attached to the role whose logical id starts with `rolePrefix`. */
export function statementsOfRole(template: Template, rolePrefix: string): Statement[] {
  const roleId = logicalIdOf(template, 'AWS::IAM::Role', rolePrefix);
  const attached = (roles: unknown) => Array.isArray(roles) && roles.some((r) => (r as { Ref?: string }).Ref === roleId);
  const policies = [
    ...Object.values(template.findResources('AWS::IAM::ManagedPolicy')),
    ...Object.values(template.findResources('AWS::IAM::Policy')),
  ].filter((p) => attached(p.Properties.Roles));
  const inline = (template.findResources('AWS::IAM::Role')[roleId].Properties.Policies ?? []) as {
    PolicyDocument: { Statement: Statement[] };
  }[];
  return [
    ...policies.map((p) => p.Properties.PolicyDocument.Statement as Statement[]),
    ...inline.map((p) => p.PolicyDocument.Statement),
  ].flat();
}

export const actionsOf = (statement: Statement): string[] => (Array.isArray(statement.Action) ? statement.Action : [statement.Action]);
export const allActions = (statements: Statement[]): string[] => statements.flatMap(actionsOf);

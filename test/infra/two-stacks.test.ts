import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { MailDispatchStack } from '../../lib/mail-dispatch-stack';

/**
 * Physical names a resource claims in its account and region: top-level properties named `Name` or
 * `…Name` (TableName, FunctionName, AlarmName, ConfigurationSet Name…) and the few nested ones
 * that are just as global (an SES template's TemplateName, a backup plan's BackupPlanName).
 * Names that only label something inside their own resource are left out.
 */
const NESTED_NAMES: Record<string, (properties: Record<string, any>) => unknown> = {
  'AWS::SES::Template': (p) => p.Template?.TemplateName,
  'AWS::Backup::BackupPlan': (p) => p.BackupPlan?.BackupPlanName,
};
const NOT_PHYSICAL = new Set(['MetricName', 'AttributeName', 'IndexName', 'KeyName', 'PolicyName', 'SelectionName', 'DisplayName']);

/** A reference to a resource of the same stack (`Ref`, `Fn::GetAtt`) names nothing new. */
const isReference = (value: unknown) => typeof value === 'object' && value !== null && ('Ref' in value || 'Fn::GetAtt' in value);

function physicalNames(template: Template): Map<string, string> {
  const names = new Map<string, string>();
  for (const [id, resource] of Object.entries(
    template.toJSON().Resources as Record<string, { Type: string; Properties?: Record<string, any> }>,
  )) {
    const properties = resource.Properties ?? {};
    const found = Object.entries(properties)
      .filter(([key]) => (key === 'Name' || key.endsWith('Name')) && !NOT_PHYSICAL.has(key))
      .map(([, value]) => value);
    const nested = NESTED_NAMES[resource.Type]?.(properties);
    if (nested !== undefined) found.push(nested);
    for (const value of found.filter((v) => !isReference(v))) names.set(`${resource.Type} ${JSON.stringify(value)}`, id);
  }
  return names;
}

describe('two stacks in one account and region (18.2)', () => {
  it('share no physical name: a staging and a production stack can live side by side', () => {
    const app = new App();
    const stagingStack = new MailDispatchStack(app, 'MailDispatchStaging');
    const productionStack = new MailDispatchStack(app, 'MailDispatchProduction');
    const staging = Template.fromStack(stagingStack);
    const production = Template.fromStack(productionStack);
    const stagingNames = physicalNames(staging);
    const productionNames = physicalNames(production);
    expect(stagingNames.size).toBeGreaterThan(5);
    expect([...stagingNames.keys()].filter((name) => productionNames.has(name))).toEqual([]);
  });

  it('names the retained backup vault after the stack id, so a redeploy after cdk destroy does not meet the old one', () => {
    const app = new App();
    const template = Template.fromStack(new MailDispatchStack(app, 'MailDispatchStaging'));
    const [vault] = Object.values(template.findResources('AWS::Backup::BackupVault'));
    expect(vault.DeletionPolicy).toBe('Retain');
    expect(JSON.stringify(vault.Properties.BackupVaultName)).toContain('AWS::StackId');
  });

  it('sends through its own configuration set and templates', () => {
    const app = new App();
    const stack = new MailDispatchStack(app, 'MailDispatchStaging');
    const template = Template.fromStack(stack);
    const env = Object.values(template.findResources('AWS::Lambda::Function'))
      .map((fn) => fn.Properties.Environment?.Variables ?? {})
      .find((vars) => vars.SES_TEMPLATE_PREFIX !== undefined);
    expect(env).toMatchObject({ SES_TEMPLATE_PREFIX: 'MailDispatchStaging' });
    const templates = Object.values(template.findResources('AWS::SES::Template')).map((t) => t.Properties.Template.TemplateName);
    expect(templates.sort()).toEqual(['MailDispatchStaging-advice-nurse-reply', 'MailDispatchStaging-appointment-reminder']);
  });
});

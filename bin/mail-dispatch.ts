#!/usr/bin/env node
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, HIPAASecurityChecks } from 'cdk-nag';
import { MailDispatchStack } from '../lib/mail-dispatch-stack';
import { InvalidSettingsError, readSettings } from '../lib/settings';

const app = new App();
try {
  // The only reader of CDK context: the stack and the MailDispatch construct take typed props.
  const pipeline = readSettings(app.node);
  new MailDispatchStack(app, 'MailDispatch', {
    description: 'mail-dispatch: recipient-bound, at-most-once e-mail dispatch for health-plan portal messages',
    pipeline,
  });
  // Both packs run on every synth: an unacknowledged error fails it; warnings are printed. Each
  // acknowledgement and its reason is also written into the template (Metadata.cdk_nag) for audit.
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { writeSuppressionsToCloudFormation: true }), new HIPAASecurityChecks(app));
} catch (error) {
  if (!(error instanceof InvalidSettingsError)) throw error;
  // Wrong context is the operator's input, not a crash: the list, no stack trace, and no synth.
  const count = error.problems.length;
  process.stderr.write(
    `Invalid mail-dispatch context (${count} problem${count === 1 ? '' : 's'}):\n${error.problems.map((p) => `  - ${p}`).join('\n')}\n`,
  );
  process.stderr.write('Fix cdk.json or the -c key=value options; the keys and their ranges are in README.md (Context keys).\n');
  process.exit(1);
}

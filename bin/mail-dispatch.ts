#!/usr/bin/env node
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, HIPAASecurityChecks } from 'cdk-nag';
import { MailDispatchStack } from '../lib/mail-dispatch-stack';

const app = new App();
new MailDispatchStack(app, 'MailDispatch', {
  description: 'mail-dispatch: recipient-bound, at-most-once e-mail dispatch for health-plan portal messages',
});
// Both packs run on every synth: an unacknowledged error fails it; warnings are printed. Each
// acknowledgement and its reason is also written into the template (Metadata.cdk_nag) for audit.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { writeSuppressionsToCloudFormation: true }), new HIPAASecurityChecks(app));

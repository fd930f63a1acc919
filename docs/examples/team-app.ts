import { App, CfnOutput, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { MailDispatch } from '../../lib/mail-dispatch';

/** A team's own CDK app: its stack, its portal's role, and the whole pipeline in a few lines. */
export function buildTeamApp(app = new App()): Stack {
  const stack = new Stack(app, 'PortalNotifications', { env: { account: '111122223333', region: 'eu-west-1' } });
  const mail = new MailDispatch(stack, 'MailDispatch', {
    fromAddress: 'no-reply@notices.example.org',
    alarmEmail: 'oncall@example.org',
    maxSendRatePerSecond: 50, // the account's SES quota
  });
  mail.grantPublish(iam.Role.fromRoleName(stack, 'Portal', 'portal-backend'));
  new CfnOutput(stack, 'DispatchQueueUrl', { value: mail.queue.queueUrl });
  return stack;
}

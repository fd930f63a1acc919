/**
 * Names of the `MailDispatch` stack's outputs. A module of its own, importing nothing from
 * aws-cdk-lib, so the ops CLI and the smoke test can read a deployed stack's outputs by these
 * names without loading the CDK.
 */
export const StackOutput = {
  queueUrl: 'QueueUrl',
  deadLetterQueueUrl: 'DeadLetterQueueUrl',
  membersTableName: 'MembersTableName',
  ledgerTableName: 'LedgerTableName',
  eventSourceMappingId: 'EventSourceMappingId',
  alarmTopicArn: 'AlarmTopicArn',
  dashboardName: 'DashboardName',
  addressHashSecretArn: 'AddressHashSecretArn',
  fanInAlarmName: 'FanInAlarmName',
  configurationSetName: 'ConfigurationSetName',
  fanInLimit: 'FanInLimit',
  encryptionKeyArn: 'EncryptionKeyArn',
  notForMePageUrl: 'NotForMePageUrl',
  outcomeBusArn: 'OutcomeBusArn',
} as const;

export type StackOutputKey = keyof typeof StackOutput;

import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import * as backup from 'aws-cdk-lib/aws-backup';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks, HIPAASecurityChecks, NagPack } from 'cdk-nag';
import { RegistryTables } from '../../lib/constructs/registry-tables';
import { MailDispatchStack } from '../../lib/mail-dispatch-stack';
import { bareStack } from './support/stack-fixture';

/** Every optional resource on, so the packs see all of them. */
const SETTINGS = {
  alarmEmail: 'oncall@example.org',
  createEmailIdentity: true,
  publisherRoleArns: ['arn:aws:iam::111122223333:role/portal-publisher'],
} as const;
const packs = (app: App) => [new AwsSolutionsChecks(app), new HIPAASecurityChecks(app)];

interface Acknowledgement {
  readonly path: string;
  readonly id: string;
  readonly reason: string;
}

function acknowledgements(app: App): Acknowledgement[] {
  return app.node.findAll().flatMap((construct) =>
    construct.node.metadata
      .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((entry) => Object.entries(entry.data as Record<string, string>))
      .map(([id, reason]) => ({ path: construct.node.path, id: id.replace(/^annotation::/i, ''), reason })),
  );
}

const findings = (app: App) =>
  packs(app).flatMap((pack) =>
    pack
      .validateScope(app)
      .violations.flatMap((v) =>
        v.violatingResources.map((r) => ({ rule: v.ruleName, severity: v.severity, path: r.constructPath ?? '' })),
      ),
  );

/** Runs the packs again as if nothing were acknowledged: each acknowledgement must hide a real finding. */
function expectEveryAcknowledgementToHideAFinding(app: App): void {
  const proto = NagPack.prototype as unknown as { isAcknowledged: (...args: unknown[]) => boolean };
  expect(typeof proto.isAcknowledged).toBe('function');
  const original = proto.isAcknowledged;
  proto.isAcknowledged = () => false;
  let raw: ReturnType<typeof findings>;
  try {
    raw = findings(app);
  } finally {
    proto.isAcknowledged = original;
  }
  for (const ack of acknowledgements(app)) {
    expect(ack.reason.length).toBeGreaterThan(60);
    const hidden = raw.filter((f) => f.rule === ack.id && (f.path === ack.path || f.path.startsWith(`${ack.path}/`)));
    expect({ ack: `${ack.id} on ${ack.path}`, hides: hidden.length > 0 }).toEqual({ ack: `${ack.id} on ${ack.path}`, hides: true });
  }
}

describe('cdk-nag (AwsSolutions + HIPAA Security)', () => {
  let app: App;

  beforeAll(() => {
    app = new App();
    new MailDispatchStack(app, 'MailDispatch', { pipeline: SETTINGS });
    Validations.of(app).addPlugins(...packs(app));
    app.synth();
  });

  it('really flags a non-compliant resource (the checks run at all)', () => {
    const probe = new App();
    new sqs.Queue(new Stack(probe, 'Probe'), 'Plain', { encryption: sqs.QueueEncryption.UNENCRYPTED });
    const rules = findings(probe).map((f) => f.rule);
    expect(rules).toEqual(expect.arrayContaining(['AwsSolutions-SQS3', 'AwsSolutions-SQS4']));
  });

  it('leaves no unacknowledged error or warning in either pack', () => {
    expect(findings(app)).toEqual([]);
  });

  it('reports no violation in the synthesized validation report', () => {
    const report = JSON.parse(readFileSync(path.join(app.outdir, 'validation-report.json'), 'utf8')) as {
      pluginReports: { pluginName: string; conclusion: string; violations: unknown[] }[];
    };
    for (const plugin of report.pluginReports)
      expect({ plugin: plugin.pluginName, violations: plugin.violations }).toEqual({ plugin: plugin.pluginName, violations: [] });
  });

  it('acknowledges only findings that exist, each with a reason', () => {
    expectEveryAcknowledgementToHideAFinding(app);
  });

  it('keeps the backup plan, so the HIPAA backup-plan rule is neither broken nor acknowledged', () => {
    expect(app.node.findAll().some((construct) => construct instanceof backup.BackupPlan)).toBe(true);
    expect(acknowledgements(app).map((ack) => ack.id)).not.toContain('HIPAA.Security-DynamoDBInBackupPlan');
  });

  it('lists every acknowledged rule in docs/security.md', () => {
    const doc = readFileSync(path.join(__dirname, '..', '..', 'docs', 'security.md'), 'utf8');
    for (const id of new Set(acknowledgements(app).map((ack) => ack.id))) expect(doc).toContain(id);
  });
});

describe('cdk-nag on the registry tables without a backup plan (enableBackupPlan=false, emulators only)', () => {
  const { app, stack, key } = bareStack();
  new RegistryTables(stack, 'Registry', { encryptionKey: key, enableBackupPlan: false });
  const inRegistry = (f: { path: string }) => f.path.startsWith(`${stack.node.path}/Registry/`);

  it('leaves no unacknowledged finding on the tables', () => {
    expect(findings(app).filter(inRegistry)).toEqual([]);
  });

  it('acknowledges exactly the HIPAA backup-plan rule, on both tables, because it does fire', () => {
    expect(acknowledgements(app).map((ack) => `${ack.id} on ${ack.path}`)).toEqual([
      `HIPAA.Security-DynamoDBInBackupPlan on ${stack.node.path}/Registry/Members`,
      `HIPAA.Security-DynamoDBInBackupPlan on ${stack.node.path}/Registry/Ledger`,
    ]);
    expectEveryAcknowledgementToHideAFinding(app);
  });
});

import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as ses from 'aws-cdk-lib/aws-ses';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { sesTemplateName } from '../../lambdas/tables';
import { TEMPLATES } from '../../lambdas/core/templates';
import { domainOf } from '../settings';

export interface MailIdentityProps {
  /** The only address the pipeline sends from. */
  readonly fromAddress: string;
  /** Key for the SES event topic. */
  readonly encryptionKey: kms.IKey;
  /**
   * Create the SES domain identity (Easy DKIM) for the from-address's domain. Leave it off when
   * the domain is verified elsewhere (another stack, the console).
   * @default false
   */
  readonly createEmailIdentity?: boolean;
  /**
   * Prefix of every SES name this construct claims in the account and region (the configuration
   * set, the templates `<prefix>-<template>`), so two stacks (staging, production) can share an
   * account. Letters, digits, `-` and `_`, at most 40. @default the stack name (its first 40 characters)
   */
  readonly namePrefix?: string;
  /** @default the name prefix */
  readonly configurationSetName?: string;
}

/** The SES event types the feedback loop needs: reconcile (send, delivery), suppress (bounce, complaint), and the failures. */
export const FEEDBACK_EVENTS: readonly ses.EmailSendingEvent[] = [
  ses.EmailSendingEvent.SEND,
  ses.EmailSendingEvent.DELIVERY,
  ses.EmailSendingEvent.BOUNCE,
  ses.EmailSendingEvent.COMPLAINT,
  ses.EmailSendingEvent.REJECT,
  ses.EmailSendingEvent.RENDERING_FAILURE,
  ses.EmailSendingEvent.DELIVERY_DELAY,
];

/**
 * Everything SES needs to send for this pipeline: the configuration set (TLS required to the
 * recipient's server, reputation metrics, SES's own bounce/complaint suppression), its event
 * destination (an encrypted, TLS-only SNS topic the feedback Lambda subscribes to), the
 * allow-listed templates from `lambdas/core/templates.ts`, and optionally the domain identity.
 */
export class MailIdentity extends Construct {
  public readonly configurationSet: ses.ConfigurationSet;
  /** SES publishes the configuration set's events here. */
  public readonly eventsTopic: sns.Topic;
  public readonly templates: readonly ses.CfnTemplate[];
  /** Names of the deployed templates (the allow-list, prefixed). */
  public readonly templateNames: readonly string[];
  /** What the sender puts before a logical template name (see sesTemplateName). */
  public readonly templatePrefix: string;
  /** Set when `createEmailIdentity` is true. */
  public readonly emailIdentity?: ses.EmailIdentity;
  public readonly fromAddress: string;

  constructor(scope: Construct, id: string, props: MailIdentityProps) {
    super(scope, id);
    this.fromAddress = props.fromAddress;
    if (!/^[^@\s]+@[^@\s]+$/.test(props.fromAddress)) throw new Error(`MailIdentity ${id}: fromAddress must be one bare address`);
    this.templatePrefix = props.namePrefix ?? Stack.of(this).stackName.slice(0, 40);
    if (!/^[A-Za-z0-9_-]{1,40}$/.test(this.templatePrefix))
      throw new Error(`MailIdentity ${id}: namePrefix must be 1-40 letters, digits, - or _`);

    this.configurationSet = new ses.ConfigurationSet(this, 'ConfigurationSet', {
      configurationSetName: props.configurationSetName ?? this.templatePrefix,
      // Never fall back to cleartext SMTP towards the member's mail server.
      tlsPolicy: ses.ConfigurationSetTlsPolicy.REQUIRE,
      reputationMetrics: true,
      sendingEnabled: true,
      suppressionReasons: ses.SuppressionReasons.BOUNCES_AND_COMPLAINTS,
    });

    this.eventsTopic = new sns.Topic(this, 'EventsTopic', {
      displayName: 'mail-dispatch SES events',
      masterKey: props.encryptionKey,
      enforceSSL: true,
    });
    this.configurationSet.addEventDestination('ToFeedback', {
      destination: ses.EventDestination.snsTopic(this.eventsTopic),
      events: [...FEEDBACK_EVENTS],
    });

    this.templateNames = Object.values(TEMPLATES).map((template) => sesTemplateName(template.name, this.templatePrefix));
    this.templates = Object.values(TEMPLATES).map(
      (template) =>
        new ses.CfnTemplate(this, `Template-${template.name}`, {
          template: {
            templateName: sesTemplateName(template.name, this.templatePrefix),
            subjectPart: template.subject,
            textPart: template.text,
            htmlPart: template.html,
          },
        }),
    );

    if (props.createEmailIdentity) {
      this.emailIdentity = new ses.EmailIdentity(this, 'DomainIdentity', {
        identity: ses.Identity.domain(domainOf(props.fromAddress)),
        configurationSet: this.configurationSet,
      });
    }
  }

  /**
   * The one SES permission a sender needs: `ses:SendEmail` on the from-address's identities, this
   * configuration set and these templates, and only with `From` = the configured address.
   */
  public sendStatement(): iam.PolicyStatement {
    const stack = Stack.of(this);
    const arn = (resource: string, resourceName: string) => stack.formatArn({ service: 'ses', resource, resourceName });
    return new iam.PolicyStatement({
      sid: 'SendOnlyFromTheConfiguredAddress',
      actions: ['ses:SendEmail'],
      resources: [
        // SES authorises against the address identity or, if only the domain is verified, the domain's.
        arn('identity', this.fromAddress),
        arn('identity', domainOf(this.fromAddress)),
        arn('configuration-set', this.configurationSet.configurationSetName),
        ...this.templateNames.map((name) => arn('template', name)),
      ],
      conditions: { StringEquals: { 'ses:FromAddress': this.fromAddress } },
    });
  }
}

/**
 * Why a call to AWS failed, in the operator's words, with what to do about it. The SDK's own
 * messages ("Region is missing", "Could not load credentials from any providers") say neither which
 * setting nor how to set it; its error names alone ("Error") say nothing at all.
 */
import { MailDispatchError } from '../../../lambdas/core/errors';

/** What went wrong, as far as the operator's setup is concerned. */
export const AwsFailureKind = {
  NoRegion: 'no-region',
  NoCredentials: 'no-credentials',
  ExpiredCredentials: 'expired-credentials',
  InvalidCredentials: 'invalid-credentials',
  AccessDenied: 'access-denied',
  StackNotFound: 'stack-not-found',
  Unreachable: 'unreachable',
  Other: 'other',
} as const;
export type AwsFailureKind = (typeof AwsFailureKind)[keyof typeof AwsFailureKind];

export interface AwsFailureContext {
  /** What was being done, e.g. "read the outputs of stack MailDispatch". */
  readonly action: string;
  readonly stack?: string;
  /** The region asked for (`--region`), if any; else the environment's is named. */
  readonly region?: string;
  readonly env?: NodeJS.ProcessEnv;
}

export interface AwsFailure {
  readonly kind: AwsFailureKind;
  /** One line: the cause and the fix. Never the SDK's message text for unknown errors (it may echo input). */
  readonly message: string;
}

const EXPIRED = new Set(['ExpiredToken', 'ExpiredTokenException', 'TokenRefreshRequired', 'RequestExpired']);
const INVALID = new Set([
  'UnrecognizedClientException',
  'InvalidClientTokenId',
  'SignatureDoesNotMatch',
  'InvalidSignatureException',
  'IncompleteSignature',
]);
const DENIED = new Set(['AccessDenied', 'AccessDeniedException', 'UnauthorizedOperation', 'AuthorizationError']);
const NETWORK = new Set(['ENOTFOUND', 'EAI_AGAIN', 'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH']);

const CREDENTIALS_FIX =
  'set AWS_PROFILE to a profile in ~/.aws/config (after `aws sso login --profile NAME` for SSO), or AWS_ACCESS_KEY_ID and ' +
  'AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary keys), or run where a role is attached';

/** The first error in the `cause` chain that is not ours: the SDK's (or the network's). */
function sdkError(error: unknown): { name: string; message: string; code?: string } {
  let current = error as { name?: string; message?: string; code?: string; cause?: unknown } | undefined;
  for (let depth = 0; current && depth < 5; depth++) {
    const ours = (current as unknown) instanceof MailDispatchError;
    if (!ours || current.cause === undefined)
      return { name: current.name ?? 'Error', message: String(current.message ?? ''), code: current.code };
    current = current.cause as typeof current;
  }
  return { name: 'Error', message: '' };
}

function regionOf(context: AwsFailureContext): string {
  const env = context.env ?? process.env;
  return context.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? "the profile's region";
}

/** Classifies an SDK failure and says what to do; `Other` keeps only the error's name. */
export function explainAwsFailure(error: unknown, context: AwsFailureContext): AwsFailure {
  const e = sdkError(error);
  const region = regionOf(context);
  const cannot = `Cannot ${context.action}`;
  if (e.message === 'Region is missing' || e.name === 'RegionMissing') {
    return {
      kind: AwsFailureKind.NoRegion,
      message: `${cannot}: no AWS region is set. Pass --region REGION (the stack's region), or set AWS_REGION (or a region in your AWS_PROFILE)`,
    };
  }
  if (e.name === 'CredentialsProviderError' || /Could not load credentials/i.test(e.message)) {
    return { kind: AwsFailureKind.NoCredentials, message: `${cannot}: no AWS credentials were found. ${capitalise(CREDENTIALS_FIX)}` };
  }
  if (EXPIRED.has(e.name)) {
    return {
      kind: AwsFailureKind.ExpiredCredentials,
      message: `${cannot}: the AWS credentials have expired (${e.name}). Log in again (\`aws sso login\`) or renew the keys`,
    };
  }
  if (INVALID.has(e.name)) {
    return {
      kind: AwsFailureKind.InvalidCredentials,
      message: `${cannot}: AWS refused the credentials (${e.name}): they are wrong or for another partition. Check AWS_PROFILE / AWS_ACCESS_KEY_ID`,
    };
  }
  if (DENIED.has(e.name)) {
    return {
      kind: AwsFailureKind.AccessDenied,
      message: `${cannot}: access denied (${e.name}). The identity in use may not do this in ${region}; use the operator role (docs/runbook.md)`,
    };
  }
  if (context.stack && e.name === 'ValidationError' && /does not exist/.test(e.message)) {
    return {
      kind: AwsFailureKind.StackNotFound,
      message:
        `${cannot}: stack ${context.stack} does not exist in ${region}. Check the name (--stack or MAIL_DISPATCH_STACK) and the region ` +
        '(--region or AWS_REGION: the region it was deployed to)',
    };
  }
  if (NETWORK.has(e.code ?? '') || NETWORK.has(e.name) || e.name === 'TimeoutError') {
    return {
      kind: AwsFailureKind.Unreachable,
      message: `${cannot}: the AWS endpoint cannot be reached (${e.code ?? e.name}). Check the network or proxy, the region ${region}, and any AWS_ENDPOINT_URL* variable`,
    };
  }
  return { kind: AwsFailureKind.Other, message: `${cannot} (${e.name})` };
}

/** True for the kinds that are the operator's environment (exit 3), not a refusal of the request. */
export function isEnvironmentFailure(kind: AwsFailureKind): boolean {
  return kind !== AwsFailureKind.Other;
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

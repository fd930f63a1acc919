import { AwsFailureKind, explainAwsFailure } from '../../../cli/src/ops/aws-failure';
import { TargetUnavailableError } from '../../../cli/src/ops/errors';

const named = (name: string, message = '', extra: Record<string, unknown> = {}) => Object.assign(new Error(message), { name, ...extra });
const context = { action: 'read the outputs of stack Prod', stack: 'Prod', region: 'eu-west-1' };

describe('explainAwsFailure (issue 19.7)', () => {
  it.each([
    ['Region is missing', new Error('Region is missing'), AwsFailureKind.NoRegion, /--region REGION.*AWS_REGION/],
    [
      'CredentialsProviderError',
      named('CredentialsProviderError', 'Could not load credentials from any providers'),
      AwsFailureKind.NoCredentials,
      /AWS_PROFILE/,
    ],
    [
      'ExpiredToken',
      named('ExpiredToken', 'The security token included in the request is expired'),
      AwsFailureKind.ExpiredCredentials,
      /aws sso login/,
    ],
    ['InvalidClientTokenId', named('InvalidClientTokenId'), AwsFailureKind.InvalidCredentials, /refused the credentials/],
    [
      'AccessDenied',
      named('AccessDenied', 'User arn:aws:iam::1:user/x is not authorized'),
      AwsFailureKind.AccessDenied,
      /access denied .* in eu-west-1/,
    ],
    [
      'a missing stack',
      named('ValidationError', 'Stack with id Prod does not exist'),
      AwsFailureKind.StackNotFound,
      /stack Prod does not exist in eu-west-1/,
    ],
    [
      'ENOTFOUND',
      named('Error', 'getaddrinfo ENOTFOUND cloudformation.eu-west-1.amazonaws.com', { code: 'ENOTFOUND' }),
      AwsFailureKind.Unreachable,
      /cannot be reached/,
    ],
  ])('says the cause and the fix for %s', (_name, error, kind, fix) => {
    const failure = explainAwsFailure(error, context);
    expect(failure.kind).toBe(kind);
    expect(failure.message).toMatch(/^Cannot read the outputs of stack Prod: /);
    expect(failure.message).toMatch(fix);
  });

  it('finds the SDK error behind our own wrapper', () => {
    const wrapped = new TargetUnavailableError('Cannot read', { cause: new Error('Region is missing') });
    expect(explainAwsFailure(wrapped, context).kind).toBe(AwsFailureKind.NoRegion);
  });

  it('keeps only the name of an unknown error (its message may echo input)', () => {
    const failure = explainAwsFailure(named('ValidationException', 'pat@example.org is bad'), context);
    expect(failure).toEqual({ kind: AwsFailureKind.Other, message: 'Cannot read the outputs of stack Prod (ValidationException)' });
  });
});

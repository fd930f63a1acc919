import { MailDispatchError } from '../../lambdas/core/errors';

/** Exit codes of the ops CLI. */
export const ExitCode = {
  Ok: 0,
  /** Refused (resume while the alarm fires, a member row), or a check that failed. */
  Failed: 1,
  /** Bad arguments or a missing target. */
  Usage: 2,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** The command line is wrong: nothing was done. */
export class UsageError extends MailDispatchError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'UsageError';
  }
}

/** The operation was refused on purpose (a safety check): nothing was done. */
export class OperationRefusedError extends MailDispatchError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'OperationRefusedError';
  }
}

/** The exit code an error maps to. */
export function exitCodeOf(error: unknown): ExitCode {
  return error instanceof UsageError ? ExitCode.Usage : ExitCode.Failed;
}

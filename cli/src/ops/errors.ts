import { ConfigurationError, MailDispatchError } from '../../../lambdas/core/errors';

/**
 * Exit codes of every command (the ops CLI and smoke; README "Exit codes"): the same problem gets the
 * same code wherever it happens.
 */
export const ExitCode = {
  Ok: 0,
  /** Refused (resume while the alarm fires, a member row), or a check that failed. */
  Failed: 1,
  /** The command line is wrong (bad or missing arguments, no target named): nothing was done. */
  Usage: 2,
  /**
   * The environment is: the target cannot be reached or read (no region, no or expired credentials,
   * access denied, no such stack, not a mail-dispatch stack, the local variables missing). Nothing was done.
   */
  Environment: 3,
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

/** The target named cannot be reached or read; the message says why and what to set. */
export class TargetUnavailableError extends ConfigurationError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'TargetUnavailableError';
  }
}

/** The exit code an error maps to. */
export function exitCodeOf(error: unknown): ExitCode {
  if (error instanceof UsageError) return ExitCode.Usage;
  if (error instanceof ConfigurationError) return ExitCode.Environment;
  return ExitCode.Failed;
}

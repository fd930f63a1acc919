import { MailDispatchError } from '../lambdas/core/errors';

/** The local pipeline (emulators, poller, runner) could not do what was asked. */
export class LocalPipelineError extends MailDispatchError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'LocalPipelineError';
  }
}

/** A scenario file does not follow `scenarios/README.md`. */
export class ScenarioFileError extends LocalPipelineError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ScenarioFileError';
  }
}

/** Base of every error this package throws. Expected outcomes (blocked, duplicate) are values, not errors. */
export class MailDispatchError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'MailDispatchError';
  }
}

/** Configuration is missing or out of range. */
export class ConfigurationError extends MailDispatchError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ConfigurationError';
  }
}

/** A storage call failed in a way the caller may retry (throttling, transient 5xx). */
export class StoreUnavailableError extends MailDispatchError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'StoreUnavailableError';
  }
}

/** The mail service refused the send before accepting it: nothing was sent, retrying is safe. */
export class SendRefusedError extends MailDispatchError {
  constructor(
    message: string,
    readonly kind: 'throttled' | 'refused' | 'account-paused',
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'SendRefusedError';
  }
}

/** The send may or may not have been accepted (timeout after the request left): never retry it. */
export class SendOutcomeUnknownError extends MailDispatchError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'SendOutcomeUnknownError';
  }
}

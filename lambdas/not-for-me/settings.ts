/** The limits of the page, one home for their defaults. */
export interface NotForMeSettings {
  /** Distinct dispatches reported within `windowSeconds` that pause the pipeline. @default 3 */
  readonly pauseThreshold: number;
  /** @default 3600 */
  readonly windowSeconds: number;
  /** POSTs one token may make per rate window. @default 5 */
  readonly perTokenLimit: number;
  /** POSTs one source (IP, pseudonymised) may make per rate window. @default 20 */
  readonly perSourceLimit: number;
  /** @default 3600 */
  readonly rateWindowSeconds: number;
}

export const DEFAULT_NOT_FOR_ME_SETTINGS: NotForMeSettings = {
  pauseThreshold: 3,
  windowSeconds: 3600,
  perTokenLimit: 5,
  perSourceLimit: 20,
  rateWindowSeconds: 3600,
};

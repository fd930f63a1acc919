/** Fan-in windows: the counter of distinct members per address lives in one window at a time. */

/** Index of the window `now` falls in. */
export function fanInWindow(now: Date, windowSeconds: number): number {
  return Math.floor(now.getTime() / 1000 / windowSeconds);
}

/**
 * When DynamoDB may delete a window's counter: one whole window after it closes, so a late
 * reader never sees a counter vanish while its window is still current.
 */
export function fanInExpiresAt(window: number, windowSeconds: number): number {
  return (window + 2) * windowSeconds;
}

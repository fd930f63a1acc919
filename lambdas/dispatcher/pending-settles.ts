/**
 * The `sent` records of a batch still being written while the next message is worked on (issue 17),
 * when the batch works on one message at a time (`handlerConcurrency` 1, the default).
 *
 * After SES accepts an e-mail its `sent` write is quiet: whatever it answers, the e-mail went out
 * and is never sent again (a lost write leaves the claim, which ends in-doubt and is reconciled to
 * `sent` by the SES Send event). So nothing waits for it before the next message's send slot and
 * claim begin; the write and the next claim run side by side. What still holds:
 *
 * - nothing is awaited between a claim's answer and its send (this waits before the claim only);
 * - a copy of the same dispatchId later in the batch claims only after that dispatchId's `sent` write has answered,
 *   so it finds the ledger exactly as if the writes had been awaited (a `duplicate`, not a claim in
 *   flight);
 * - at most one such write is outstanding when a claim begins (the one just issued): a dead
 *   invocation leaves at most one e-mail SES accepted without its `sent` record besides the one it
 *   was sending, and both are reconciled by their Send events;
 * - the batch answers SQS only after every write has answered (`drain`), so no write outlives the
 *   invocation that issued it.
 */
export class PendingSettles {
  private readonly pending: { readonly dispatchId: string; readonly write: Promise<void> }[] = [];

  /** A quiet `sent` write issued for `dispatchId` (were it to reject, the next claim and the drain would not). */
  add(dispatchId: string, issued: Promise<void>): void {
    const write = issued.catch(() => undefined);
    const entry = { dispatchId, write };
    this.pending.push(entry);
    const remove = () => {
      const i = this.pending.indexOf(entry);
      if (i >= 0) this.pending.splice(i, 1);
    };
    write.then(remove, remove);
  }

  /** Before a claim of `dispatchId`: its own outstanding write, and every other but the newest. */
  async beforeClaim(dispatchId: string): Promise<void> {
    const newest = this.pending.at(-1);
    const waits = this.pending.filter((entry) => entry !== newest || entry.dispatchId === dispatchId).map((e) => e.write);
    if (waits.length > 0) await Promise.all(waits);
  }

  /** Every outstanding write, before the batch answers. */
  async drain(): Promise<void> {
    while (this.pending.length > 0) await Promise.all(this.pending.map((e) => e.write));
  }

  get outstanding(): number {
    return this.pending.length;
  }
}

import type { ClaimRequest } from '../ports';

/** DynamoDB allows 100 items per transaction; a claim writes three (a proxy claim more: see the item count below). */
export const MAX_CLAIMS_PER_TRANSACTION = 33;

/**
 * Splits claims into transactions: a transaction may not touch one item twice, so two claims for
 * one member, one dispatchId or one address's fan-in counter go to different transactions, in
 * arrival order (the earlier claim is decided first, as it would be one by one). Returns indexes
 * into `requests`.
 */
export function groupClaims(requests: readonly ClaimRequest[], maxPerGroup = MAX_CLAIMS_PER_TRANSACTION): number[][] {
  const groups: { indexes: number[]; keys: Set<string> }[] = [];
  requests.forEach((request, index) => {
    const keys = claimKeys(request);
    let group = groups.find((g) => g.indexes.length < maxPerGroup && keys.every((k) => !g.keys.has(k)));
    // Keep arrival order per item: never put a claim before an earlier one that shares an item.
    const lastSharing = groups.reduce((last, g, i) => (keys.some((k) => g.keys.has(k)) ? i : last), -1);
    if (group && groups.indexOf(group) < lastSharing) group = undefined;
    if (!group) {
      group = groups.slice(lastSharing + 1).find((g) => g.indexes.length < maxPerGroup);
      if (!group) groups.push((group = { indexes: [], keys: new Set() }));
    }
    group.indexes.push(index);
    keys.forEach((k) => group!.keys.add(k));
  });
  return groups.map((g) => g.indexes);
}

function claimKeys(r: ClaimRequest): string[] {
  const consent = r.proxyConsent
    ? [`registry:${r.proxyConsent.registryKey}`, ...r.proxyConsent.consentingOwners.map((id) => `member:${id}`)]
    : [];
  return [`member:${r.message.memberId}`, `dispatch:${r.message.dispatchId}`, `fan-in:${r.fanInKey}`, ...consent];
}

import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { SUPPRESSION_RULE } from '../core/suppression';

/** A piece of a DynamoDB condition with its own placeholders (prefixed `sup` so they cannot clash). */
export interface ConditionPart {
  readonly expression: string;
  readonly names: Record<string, string>;
  readonly values: Record<string, AttributeValue>;
}

/**
 * "Not suppressed for this address", as a condition on the member item: the same rule the
 * decision evaluates (`core/suppression.ts`), written from the same description.
 */
export function notSuppressedCondition(toHash: string): ConditionPart {
  const { perAddress, legacyFlag } = SUPPRESSION_RULE;
  const allowed = legacyFlag.notSuppressing.map((_, i) => `:supOk${i}`);
  return {
    expression:
      `attribute_not_exists(#supMap.#supHash) AND (attribute_not_exists(#supFlag) OR attribute_type(#supFlag, :supNull) ` +
      `OR #supFlag IN (${allowed.join(', ')}))`,
    names: { '#supMap': perAddress.attribute, '#supHash': toHash, '#supFlag': legacyFlag.attribute },
    values: marshall({ ':supNull': 'NULL', ...Object.fromEntries(legacyFlag.notSuppressing.map((value, i) => [allowed[i], value])) }),
  };
}

import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ConfigurationError } from '../core/errors';
import { Env } from '../tables';
import { AWS_CLIENT_CONFIG } from './sdk-clients';

/**
 * The key of the address hash: from Secrets Manager in AWS (read once per cold start), or from
 * `ADDRESS_HASH_KEY` locally. Never logged.
 */
export async function loadAddressHashKey(env: NodeJS.ProcessEnv, client?: SecretsManagerClient): Promise<string> {
  if (env[Env.addressHashKey]) return env[Env.addressHashKey] as string;
  const secretId = env[Env.addressHashSecretArn];
  if (!secretId) throw new ConfigurationError(`Set ${Env.addressHashSecretArn} (AWS) or ${Env.addressHashKey} (local)`);
  try {
    const { SecretString } = await (client ?? new SecretsManagerClient(AWS_CLIENT_CONFIG)).send(
      new GetSecretValueCommand({ SecretId: secretId }),
    );
    if (!SecretString) throw new ConfigurationError('The address hash secret is empty');
    return SecretString;
  } catch (error) {
    if (error instanceof ConfigurationError) throw error;
    throw new ConfigurationError(`Cannot read the address hash secret (${(error as { name?: string })?.name ?? 'Error'})`, {
      cause: error,
    });
  }
}

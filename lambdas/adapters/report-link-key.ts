import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ConfigurationError } from '../core/errors';
import { deriveReportLinkKeys, type ReportLinkKeys } from '../core/report-token';
import { Env } from '../tables';
import { AWS_CLIENT_CONFIG } from './sdk-clients';

/**
 * The keys of the "not for me" links: from the Secrets Manager secret in AWS (read once per cold
 * start, so that making a link at send time needs no await), or from `REPORT_LINK_KEY` locally.
 * A separate secret from the address-hash key: the page function can check links without being
 * able to hash addresses. Never logged.
 */
export async function loadReportLinkKeys(env: NodeJS.ProcessEnv, client?: SecretsManagerClient): Promise<ReportLinkKeys> {
  if (env[Env.reportLinkKey]) return derive(env[Env.reportLinkKey] as string);
  const secretId = env[Env.reportLinkSecretArn];
  if (!secretId) throw new ConfigurationError(`Set ${Env.reportLinkSecretArn} (AWS) or ${Env.reportLinkKey} (local)`);
  let secret: string | undefined;
  try {
    ({ SecretString: secret } = await (client ?? new SecretsManagerClient(AWS_CLIENT_CONFIG)).send(
      new GetSecretValueCommand({ SecretId: secretId }),
    ));
  } catch (error) {
    throw new ConfigurationError(`Cannot read the report link secret (${(error as { name?: string })?.name ?? 'Error'})`, { cause: error });
  }
  if (!secret) throw new ConfigurationError('The report link secret is empty');
  return derive(secret);
}

function derive(secret: string): ReportLinkKeys {
  try {
    return deriveReportLinkKeys(secret);
  } catch (error) {
    throw new ConfigurationError('The report link secret is too short (at least 16 characters)', { cause: error });
  }
}

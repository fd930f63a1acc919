/**
 * The AWS SDK prints an 8-line NodeVersionSupportWarning in every process on Node.js < 22. Our
 * commands say it in one line instead, once per process, through the SDK's own switch
 * (`AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true`, read by @aws-sdk/core when a client is
 * built). A user who set that variable either way has decided: then we print nothing.
 */
export const SDK_NODE_WARNING_ENV = 'AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED';

/** Call first thing in an entry point, before any SDK client is built. */
export function quietSdkNodeWarning(
  env: NodeJS.ProcessEnv = process.env,
  write: (line: string) => void = (line) => process.stderr.write(line),
): void {
  if (env[SDK_NODE_WARNING_ENV] !== undefined) return;
  env[SDK_NODE_WARNING_ENV] = 'true';
  const major = Number(process.versions.node.split('.')[0]);
  if (major < 22) {
    write(
      `note: Node.js ${process.version}: AWS SDK releases after January 2027 need Node.js >= 22 (${SDK_NODE_WARNING_ENV}=true hides this line)\n`,
    );
  }
}

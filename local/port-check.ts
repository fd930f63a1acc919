/**
 * A fixed port asked for (`npm run local -- --dynamodb-port 8000`) that another program holds must say
 * so before anything starts: DynamoDB Local's JVM fails to bind while our client, connecting to the
 * port, reaches the other program (our tables created in someone else's DynamoDB, or a hang), and
 * fauxqs fails with a stack trace.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { LocalPipelineError } from './errors';

/** The emulators whose port can be fixed, and the `npm run local` flag that sets each. */
export const PORT_FLAGS = {
  dynamodb: { service: 'DynamoDB Local', flag: '--dynamodb-port' },
  sqs: { service: 'the SQS emulator', flag: '--sqs-port' },
  ses: { service: 'the SES v2 emulator', flag: '--ses-port' },
  control: { service: 'the control endpoint', flag: '--control-port' },
} as const;
export type PortName = keyof typeof PORT_FLAGS;

/** A port that was asked for and is taken. */
export class PortInUseError extends LocalPipelineError {
  constructor(
    message: string,
    readonly port: number,
  ) {
    super(message);
    this.name = 'PortInUseError';
  }
}

function canListen(port: number, host: string | undefined): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', (error: NodeJS.ErrnoException) => resolve(error.code !== 'EADDRINUSE' && error.code !== 'EACCES' ? true : false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** True when nothing listens on `port`, on the loopback address or any other (DynamoDB Local binds them all). */
export async function isPortFree(port: number): Promise<boolean> {
  return (await canListen(port, '127.0.0.1')) && (await canListen(port, undefined));
}

/**
 * Who listens on a TCP port, from /proc (Linux): "pid 123 (java -jar DynamoDBLocal.jar …)", or
 * `undefined` where that cannot be read (another OS, another user's process).
 */
export function describePortHolder(port: number): string | undefined {
  try {
    const hex = port.toString(16).toUpperCase().padStart(4, '0');
    const inodes = new Set<string>();
    for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
      let text: string;
      try {
        text = readFileSync(table, 'utf8');
      } catch {
        continue;
      }
      for (const line of text.split('\n').slice(1)) {
        const fields = line.trim().split(/\s+/);
        // local_address is ADDR:PORT in hex; state 0A is LISTEN; field 9 is the socket's inode.
        if (fields[1]?.endsWith(`:${hex}`) && fields[3] === '0A' && fields[9]) inodes.add(fields[9]);
      }
    }
    if (inodes.size === 0) return undefined;
    for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
      let fds: string[];
      try {
        fds = readdirSync(`/proc/${pid}/fd`);
      } catch {
        continue;
      }
      for (const fd of fds) {
        let link: string;
        try {
          link = readlinkSync(`/proc/${pid}/fd/${fd}`);
        } catch {
          continue;
        }
        const inode = /^socket:\[(\d+)\]$/.exec(link)?.[1];
        if (inode && inodes.has(inode)) {
          const command = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
          return `pid ${pid} (${command.length > 120 ? `${command.slice(0, 117)}...` : command})`;
        }
      }
    }
    return undefined;
  } catch {
    return undefined;
  }
}

/**
 * Refuses, with one message for all of them, the fixed ports (not 0, not undefined) another program
 * holds: which port, for what, who holds it, and the flag that moves it.
 */
export async function assertPortsFree(ports: Partial<Record<PortName, number>>): Promise<void> {
  const busy: { name: PortName; port: number }[] = [];
  for (const [name, port] of Object.entries(ports) as [PortName, number | undefined][]) {
    if (port && !(await isPortFree(port))) busy.push({ name, port });
  }
  if (busy.length === 0) return;
  const lines = busy.map(({ name, port }) => {
    const { service, flag } = PORT_FLAGS[name];
    const holder = describePortHolder(port);
    return `port ${port} for ${service} is already in use${holder ? ` by ${holder}` : ' by another program'}: stop it, or pass ${flag} <other port> (${flag} 0 for any free port)`;
  });
  throw new PortInUseError(lines.join('\n'), busy[0]?.port as number);
}

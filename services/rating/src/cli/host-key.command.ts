import {
  SAMPLE_LIMITS,
  deriveHostKey,
  hostKeyLine,
  isPrintableText,
  parseHostKeyFile,
  utf8ByteLength,
} from '@metering/contracts';
import { readSettingText } from '@metering/kafka';
import { hostAuthKeysFile } from '../config';
import { type CliCommand, EXIT, UsageError, rejectNul } from './cli-command';

const HOST_KEY_USAGE = `usage: npm run rating -- host-key <host> [--key-id <id>] > host.key
  Prints the sample key of one hypervisor host (ADR 0010): "<key id> <hex>", the line its
  collectors' HOST_AUTH_KEY_FILE holds. <host> is exactly the host name its samples carry.
  Derived from rating's master keys (HOST_AUTH_KEYS_FILE); --key-id picks one of them, default
  the last line of that file (during a rotation: the new key). The output is a secret: redirect
  it to a file only the host's collectors read (mode 0600), never into a log.`;

/** `rating host-key`: a host's key from the master keys, for provisioning and rotation. */
export const hostKeyCommand: CliCommand = {
  name: 'host-key',
  summary: "print a hypervisor host's sample key (HOST_AUTH_KEY_FILE) from the master keys",
  usage: HOST_KEY_USAGE,
  run: (args, io) => {
    rejectNul(args);
    let host: string | undefined;
    let keyId: string | undefined;
    for (let i = 0; i < args.length; i++) {
      const arg = args[i]!;
      if (arg === '--key-id') {
        keyId = args[++i];
        if (keyId === undefined) throw new UsageError('--key-id needs a value');
      } else if (arg === '--help' || arg === '-h') {
        io.out.write(`${HOST_KEY_USAGE}\n`);
        return Promise.resolve(EXIT.ok);
      } else if (arg.startsWith('-')) {
        throw new UsageError(`unknown option ${JSON.stringify(arg)}`);
      } else if (host === undefined) {
        host = arg;
      } else {
        throw new UsageError('one host at a time');
      }
    }
    if (host === undefined) throw new UsageError('which host?');
    if (host === '' || utf8ByteLength(host) > SAMPLE_LIMITS.hostBytes || !isPrintableText(host)) {
      throw new UsageError(
        `the host must be 1 to ${SAMPLE_LIMITS.hostBytes} bytes of printable text, as in samples`,
      );
    }
    const path = hostAuthKeysFile();
    if (path === null) {
      throw new UsageError("HOST_AUTH_KEYS_FILE must name rating's master key file");
    }
    let masters;
    try {
      masters = parseHostKeyFile(readSettingText('HOST_AUTH_KEYS_FILE', path));
    } catch (error) {
      io.err.write(`rating host-key: HOST_AUTH_KEYS_FILE: ${(error as Error).message}\n`);
      return Promise.resolve(EXIT.failure);
    }
    const master = keyId === undefined ? masters.at(-1)! : masters.find((m) => m.keyId === keyId);
    if (master === undefined) {
      io.err.write(`rating host-key: key id ${JSON.stringify(keyId)} is not in the master keys\n`);
      return Promise.resolve(EXIT.failure);
    }
    io.out.write(`${hostKeyLine({ keyId: master.keyId, key: deriveHostKey(master.key, host) })}\n`);
    return Promise.resolve(EXIT.ok);
  },
};

import 'reflect-metadata';
import { ConfigError } from '../config';
import {
  type CliCommand,
  type CliIo,
  EXIT,
  type ExitCode,
  UsageError,
  printable,
} from './cli-command';
import { dlqCommand } from './dlq.command';
import { hostKeyCommand } from './host-key.command';
import { OFFSETS_USAGE, offsetsCommand } from './offsets.command';

/** `rating offsets`: it writes to the process's stdout and stderr itself. */
const offsetsCliCommand: CliCommand = {
  name: 'offsets',
  summary: 'stored positions against the samples topic; decide on a stopped partition',
  usage: OFFSETS_USAGE,
  run: async (args) => {
    const code = await offsetsCommand([...args]);
    return code === 0 ? EXIT.ok : code === 2 ? EXIT.usage : EXIT.failure;
  },
};

/** Every `rating <command>`; each lives in its own `*.command.ts` and parses its own arguments. */
const COMMANDS: readonly CliCommand[] = [dlqCommand, offsetsCliCommand, hostKeyCommand];

function usage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'usage: npm run rating -- <command> [options]   (npm run rating -- <command> --help)',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    'Settings (KAFKA_BROKERS, SAMPLES_TOPIC, SAMPLES_DLQ_TOPIC, DATABASE_URL, ...) as for the rating service.',
  ].join('\n');
}

/** The operator's command line of the rating service. Results on stdout, the rest on stderr. */
export async function main(argv: readonly string[], io: CliIo): Promise<ExitCode> {
  const [name, ...args] = argv;
  if (name === undefined || name === '--help' || name === '-h') {
    (name === undefined ? io.err : io.out).write(`${usage()}\n`);
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (command === undefined) {
    io.err.write(`rating: unknown command "${printable(name)}"\n${usage()}\n`);
    return EXIT.usage;
  }
  try {
    return await command.run(args, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.err.write(`rating ${command.name}: ${error.message}\n${command.usage}\n`);
      return EXIT.usage;
    }
    if (error instanceof ConfigError) {
      io.err.write(`rating ${command.name}: ${error.message}\n`);
      return EXIT.failure;
    }
    const code =
      error instanceof Error && 'code' in error && typeof error.code === 'string'
        ? `${error.code}: `
        : '';
    io.err.write(
      `rating ${command.name}: ${code}${error instanceof Error ? error.message : String(error)}\n`,
    );
    return EXIT.failure;
  }
}

if (require.main === module) {
  // A reader that goes away (`| head`) must not crash a replay between publish and commit: output
  // is only a report, the ledger is the record.
  process.stdout.on('error', () => undefined);
  main(process.argv.slice(2), { out: process.stdout, err: process.stderr }).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      console.error(`rating: ${error instanceof Error ? error.message : String(error)}`);
      process.exitCode = EXIT.failure;
    },
  );
}

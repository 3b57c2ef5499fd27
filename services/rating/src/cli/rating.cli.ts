import 'reflect-metadata';
import { OFFSETS_USAGE, offsetsCommand } from './offsets.command';

const USAGE = `usage: npm run rating -- <command> [options]   (--help after a command for its options)
  offsets   stored positions against the samples topic; decide on a stopped partition

${OFFSETS_USAGE}`;

/** The rating operator's command line: one subcommand per file, dispatched here. */
async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'offsets':
      return offsetsCommand(rest);
    case undefined:
      console.error(USAGE);
      return 2;
    case '--help':
    case '-h':
    case 'help':
      console.log(USAGE);
      return 0;
    default:
      console.error(`rating: unknown command ${command}\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`rating: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);

import 'reflect-metadata';
import { Command, CommanderError } from 'commander';
import { BillingError } from '../common/billing.errors';
import { EXIT, type ExitCode, printable, UsageError } from './cli-args';
import { type CliIo, CliRuntime } from './cli-runtime';
import { registerInvoiceCommands } from './invoice.commands';
import { registerScheduleCommand } from './schedule.command';
import { registerWebhookCommands } from './webhook.commands';

/**
 * The operator's command line of billing-api (`npm run billing -- <command>`, in an image
 * `node dist/src/cli/billing.cli.js <command>`): close and export months, the scheduled close,
 * the webhook delivery log — through the services the HTTP API uses. Results on stdout (`--json`:
 * one JSON document), progress and messages on stderr. Exit 0 done; 1 the operation failed
 * (PostgreSQL down, a month not closable yet, a delivery that does not exist...); 2 the command
 * line is wrong (a one-line reason naming the argument, then the command's usage).
 */
export function billingProgram(rt: CliRuntime): Command {
  const program = new Command('billing')
    .usage('<command> [options]')
    .description(
      "billing-api's operator commands. Settings (DATABASE_URL, DATABASE_SCHEMA, ...) as for the " +
        'service. Exit codes: 0 done, 1 the operation failed, 2 a usage error.',
    )
    .helpCommand(false)
    .exitOverride()
    .showSuggestionAfterError(true)
    .configureOutput({
      writeOut: (text) => rt.io.out.write(text),
      writeErr: (text) => rt.io.err.write(text),
      // main() writes the one-line reason (escaped) and the usage of the command concerned.
      outputError: () => undefined,
    })
    .addHelpText(
      'after',
      '\nHelp for one command: billing help <command> (or billing <command> --help).\n' +
        'Runbook: docs/operations.md, "The billing CLI".',
    );
  registerInvoiceCommands(program, rt);
  registerScheduleCommand(program, rt);
  registerWebhookCommands(program, rt);
  return program;
}

/** The deepest command named on the command line (for its usage in an error). */
function concerned(program: Command, args: readonly string[]): Command {
  let command = program;
  for (const arg of args) {
    if (arg.startsWith('-')) continue;
    const sub = command.commands.find((c) => c.name() === arg);
    if (sub === undefined) break;
    command = sub;
  }
  return command;
}

function pathOf(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c !== null; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

export async function main(argv: readonly string[], io: CliIo): Promise<ExitCode> {
  const rt = new CliRuntime(io);
  const program = billingProgram(rt);
  const args = [...argv];
  if (args.length === 0) {
    program.outputHelp({ error: true });
    return EXIT.usage;
  }
  const usageError = (reason: string): ExitCode => {
    const command = concerned(program, args);
    io.err.write(`${pathOf(command)}: ${printable(reason, 400)}\n${command.helpInformation()}`);
    return EXIT.usage;
  };
  // `billing help deliveries list`: the help of `billing deliveries list`, on stdout.
  if (args[0] === 'help') {
    let command = program;
    for (const name of args.slice(1)) {
      const sub = command.commands.find((c) => c.name() === name);
      if (sub === undefined) return usageError(`unknown command '${name}'`);
      command = sub;
    }
    command.outputHelp();
    return EXIT.ok;
  }
  try {
    await program.parseAsync(args, { from: 'user' });
    return rt.exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') {
        return EXIT.ok;
      }
      // A command that needs a subcommand, given none: its help is on stderr already.
      if (error.code === 'commander.help') return EXIT.usage;
      return usageError(error.message.replace(/^error: /, ''));
    }
    if (error instanceof UsageError) return usageError(error.message);
    const where = pathOf(concerned(program, args));
    // The service's own validation (a cursor of another list): the caller's input, named.
    if (error instanceof BillingError && error.code === 'VALIDATION_FAILED') {
      return usageError(error.message);
    }
    const code =
      error instanceof Error && 'code' in error && typeof error.code === 'string'
        ? `${error.code}: `
        : '';
    const message = error instanceof Error ? error.message : String(error);
    io.err.write(`${where}: ${code}${printable(message, 2000)}\n`);
    return EXIT.failure;
  } finally {
    await rt.close();
  }
}

if (require.main === module) {
  // A reader that goes away (`| head`): help and lists end quietly; export fails with EPIPE (1).
  process.stdout.on('error', () => undefined);
  main(process.argv.slice(2), { out: process.stdout, err: process.stderr }).then(
    // Exit once stdout has taken everything (a pipe is written asynchronously).
    (code) => process.stdout.write('', () => process.exit(code)),
    (error: unknown) => {
      process.stderr.write(`billing: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(EXIT.failure);
    },
  );
}

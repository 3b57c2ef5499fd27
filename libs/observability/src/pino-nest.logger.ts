import { type LoggerService, type LogLevel as NestLogLevel } from '@nestjs/common';
import { type Level, type Logger } from 'pino';

/** Nest's levels mapped onto pino's: Nest's `log` is the everyday level, `verbose` the chattiest. */
const LEVELS: Readonly<Record<NestLogLevel, Level>> = {
  fatal: 'fatal',
  error: 'error',
  warn: 'warn',
  log: 'info',
  debug: 'debug',
  verbose: 'trace',
};

/** Nest passes stack traces as plain strings; this is how ConsoleLogger tells them apart. */
const STACK_TRACE = /\n\s+at /;

/**
 * Routes Nest's own logs (and anything using Nest's `Logger`) through pino, so a service
 * writes one log format. Use with `NestFactory.create(AppModule, { bufferLogs: true })` and
 * `app.useLogger(app.get(PinoNestLogger))`.
 *
 * Give it a root logger (see createRootLogger): Nest's context becomes the `context` field,
 * and pino would repeat the key if the root already had one.
 */
export class PinoNestLogger implements LoggerService {
  private readonly byContext = new Map<string, Logger>();

  constructor(
    private readonly root: Logger,
    private readonly defaultContext = 'Nest',
  ) {}

  log(message: unknown, ...params: unknown[]): void {
    this.write('log', message, params);
  }

  error(message: unknown, ...params: unknown[]): void {
    this.write('error', message, params);
  }

  warn(message: unknown, ...params: unknown[]): void {
    this.write('warn', message, params);
  }

  debug(message: unknown, ...params: unknown[]): void {
    this.write('debug', message, params);
  }

  verbose(message: unknown, ...params: unknown[]): void {
    this.write('verbose', message, params);
  }

  fatal(message: unknown, ...params: unknown[]): void {
    this.write('fatal', message, params);
  }

  /**
   * Nest calls this from `NestFactory.create(..., { logLevels })`. The most verbose level
   * listed becomes pino's threshold; an empty list silences, as it does for ConsoleLogger.
   */
  setLogLevels(levels: NestLogLevel[]): void {
    const order: NestLogLevel[] = ['verbose', 'debug', 'log', 'warn', 'error', 'fatal'];
    const lowest = order.find((level) => levels.includes(level));
    this.root.level = lowest === undefined ? 'silent' : LEVELS[lowest];
    // pino children copy the level when created: drop them so new ones pick up the change.
    this.byContext.clear();
  }

  private write(level: NestLogLevel, message: unknown, params: unknown[]): void {
    const rest = [...params];
    let context = this.defaultContext;
    let stack: string | undefined;
    // Nest's convention: the last string argument is the context, unless it is a stack.
    const last = rest.at(-1);
    if (typeof last === 'string') {
      rest.pop();
      if (STACK_TRACE.test(last)) stack = last;
      else context = last;
    }
    const beforeLast = rest.at(-1);
    if (stack === undefined && typeof beforeLast === 'string' && STACK_TRACE.test(beforeLast)) {
      rest.pop();
      stack = beforeLast;
    }

    const fields: Record<string, unknown> = {};
    let text: string | undefined;
    if (message instanceof Error) {
      fields.err = message;
      text = message.message;
    } else if (typeof message === 'string') {
      text = message;
    } else {
      fields.data = message;
    }
    if (stack !== undefined) fields.stack = stack;
    if (rest.length > 0) fields.params = rest;

    const logger = this.loggerFor(context);
    const method = LEVELS[level];
    if (text === undefined) logger[method](fields);
    else logger[method](fields, text);
  }

  private loggerFor(context: string): Logger {
    let logger = this.byContext.get(context);
    if (logger === undefined) {
      logger = this.root.child({ context });
      this.byContext.set(context, logger);
    }
    return logger;
  }
}

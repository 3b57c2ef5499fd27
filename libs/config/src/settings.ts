import { z } from 'zod';
import { integer } from './parsers';

/** The log levels a service may be started with (LOG_LEVEL); pino's, plus `silent`. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** LOG_LEVEL: `info` unless set. */
export const logLevel = () => z.enum(LOG_LEVELS).default('info');

/** The address the HTTP server (API, /metrics, probes) binds: loopback unless set. */
export const listenHost = () => z.string().trim().min(1).default('127.0.0.1');

/** A TCP port to listen on; 0 lets the system choose one (tests). */
export const listenPort = (fallback: number) => integer(0, 65_535).default(fallback);

/** `production` turns on the secret rules (weak keys and passwords are refused at boot). */
export const nodeEnv = () => z.string().optional();

import { z } from 'zod';
import { LOG_LEVELS } from './log-levels';
import { integer } from './parsers';

export { LOG_LEVELS, type LogLevel } from './log-levels';

/** LOG_LEVEL: `info` unless set. */
export const logLevel = () => z.enum(LOG_LEVELS).default('info');

/** The address the HTTP server (API, /metrics, probes) binds: loopback unless set. */
export const listenHost = () => z.string().trim().min(1).default('127.0.0.1');

/** A TCP port to listen on; 0 lets the system choose one (tests). */
export const listenPort = (fallback: number) => integer(0, 65_535).default(fallback);

/** `production` turns on the secret rules (weak keys and passwords are refused at boot). */
export const nodeEnv = () => z.string().optional();

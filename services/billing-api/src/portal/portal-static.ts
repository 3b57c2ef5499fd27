import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import serveStatic from 'serve-static';
import { escapeJson, PROBLEM_CONTENT_TYPE, toProblem } from '../common/error.filter';
import { type BillingErrorCode } from '../common/billing.errors';

/** The portal page may load and reach only its own origin; nothing may frame it. */
export const PORTAL_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy': PORTAL_CSP,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  'Cross-Origin-Opener-Policy': 'same-origin',
};

/** Vite's content-hashed output: a changed file gets a new name, so it may be cached for good. */
const IMMUTABLE = 'public, max-age=31536000, immutable';
const MAX_PATH_LENGTH = 1024;

/**
 * The built web app (services/portal/dist) under /portal/ (docs/adr/0012-tenant-portal.md):
 * files by serve-static, hashed assets cached for a year, index.html revalidated each time and
 * answered for every other path (the app routes on the client). Paths are checked before the
 * file system sees them: NUL and other control characters, backslashes, `.`/`..` segments
 * (also percent-encoded), undecodable or overlong paths are a 400 problem. A missing hashed
 * asset is a 404, not index.html (a script that is HTML would only confuse). Every answer,
 * errors too, carries the strict CSP and its companions. Mount at /portal.
 */
export function portalStatic(dir: string): RequestHandler {
  const files = serveStatic(dir, {
    index: false,
    redirect: false,
    fallthrough: true,
    dotfiles: 'ignore',
    cacheControl: false,
    setHeaders: (response: Response, path: string) => {
      response.setHeader(
        'Cache-Control',
        path.startsWith(join(dir, 'assets')) ? IMMUTABLE : 'no-cache',
      );
    },
  });
  const index = join(dir, 'index.html');
  return (request: Request, response: Response, next: NextFunction): void => {
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) response.setHeader(name, value);
    // Nothing but GET and HEAD is served here: the API's 404 answers the rest.
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      next();
      return;
    }
    // Mounted at /portal: request.url is the rest ("/", "/assets/x.js", "/invoices/2026-11").
    if (request.originalUrl.split('?')[0] === '/portal') {
      response.redirect(301, '/portal/');
      return;
    }
    const rawPath = (request.url.split('?')[0] ?? '/').replace(/^\/+/, '/');
    const refusal = pathProblem(rawPath);
    if (refusal !== null) {
      problem(request, response, 400, 'VALIDATION_FAILED', `path: ${refusal}`, 'path');
      return;
    }
    if (!existsSync(index)) {
      problem(
        request,
        response,
        404,
        'PORTAL_NOT_BUILT',
        'the portal web app is not built on this server: run `npm run build -w @metering/portal` (or point PORTAL_DIR at its dist directory) and reload',
      );
      return;
    }
    files(request, response, () => {
      if (rawPath.startsWith('/assets/')) {
        problem(request, response, 404, 'NOT_FOUND', 'no such portal asset');
        return;
      }
      response.sendFile(
        index,
        { cacheControl: false, headers: { 'Cache-Control': 'no-cache' } },
        (error) => {
          if (error !== undefined && !response.headersSent) next(error);
        },
      );
    });
  };
}

/** Why a request path may not reach the file system, or null when it may. */
export function pathProblem(rawPath: string): string | null {
  if (rawPath.length > MAX_PATH_LENGTH) return `longer than ${MAX_PATH_LENGTH} characters`;
  let decoded: string;
  try {
    decoded = decodeURIComponent(rawPath);
  } catch {
    return 'is not valid percent-encoded UTF-8';
  }
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f-\u009f]/.test(decoded)) return 'holds a control character';
  if (decoded.includes('\\')) return 'holds a backslash';
  if (decoded.split('/').some((segment) => segment === '..' || segment === '.')) {
    return 'holds a "." or ".." segment';
  }
  return null;
}

function problem(
  request: Request,
  response: Response,
  status: number,
  code: BillingErrorCode,
  message: string,
  field?: string,
): void {
  const body = toProblem(
    { statusCode: status, code, message, ...(field === undefined ? {} : { field }) },
    request.originalUrl.split('?')[0]?.slice(0, MAX_PATH_LENGTH) ?? '/portal/',
  );
  response
    .status(status)
    .setHeader('Cache-Control', 'no-store')
    .type(PROBLEM_CONTENT_TYPE)
    .send(Buffer.from(escapeJson(JSON.stringify(body)), 'utf8'));
}

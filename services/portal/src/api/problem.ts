/** An RFC 9457 problem from billing-api (stable `code`), or a network failure. */
export class ApiProblem extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly detail: string,
    readonly field?: string,
  ) {
    super(detail);
    this.name = 'ApiProblem';
  }

  /** The problem from an answer's body (problem+json), or one that names the status. */
  static from(status: number, body: unknown): ApiProblem {
    if (typeof body === 'object' && body !== null) {
      const b = body as Record<string, unknown>;
      const code = typeof b.code === 'string' ? b.code : `HTTP_${status}`;
      const detail = typeof b.detail === 'string' ? b.detail : `The server answered ${status}.`;
      const field = typeof b.field === 'string' ? b.field : undefined;
      return new ApiProblem(status, code, detail, field);
    }
    return new ApiProblem(status, `HTTP_${status}`, `The server answered ${status}.`);
  }

  static network(error: unknown): ApiProblem {
    const why = error instanceof Error ? error.message : String(error);
    return new ApiProblem(0, 'NETWORK', `The billing API could not be reached (${why}).`);
  }
}

/** What the person should do about a problem, in a sentence. */
export function advice(problem: ApiProblem): string {
  switch (problem.code) {
    case 'NETWORK':
      return 'Check your connection, then try again.';
    case 'UNAUTHENTICATED':
      return 'Sign in again.';
    case 'READ_ONLY_SESSION':
      return 'This is a read-only view opened from an admin link: sign in with one of the tenant’s API keys to make changes.';
    case 'CSRF_TOKEN_INVALID':
      return 'Reload the page and try again.';
    case 'RATE_LIMITED':
      return 'Too many requests: wait a minute, then try again.';
    case 'RANGE_INVALID':
    case 'VALIDATION_FAILED':
      return problem.field === undefined
        ? 'Correct the input and try again.'
        : `Correct “${problem.field}” and try again.`;
    case 'TENANT_NOT_FOUND':
    case 'NOT_FOUND':
    case 'INVOICE_NOT_FOUND':
    case 'API_KEY_NOT_FOUND':
      return 'It does not exist, or it is not yours: go back to the overview.';
    default:
      return problem.status >= 500
        ? 'The billing service had a problem: try again in a minute; if it persists, contact your provider.'
        : 'Try again; if it persists, contact your provider.';
  }
}

// Calling the pipeline's billing API over HTTP: the raw answer whatever its status, or the parsed
// JSON of a call that must succeed.

export interface ApiAnswer {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  readonly buffer: Buffer;
}

export interface ApiCall {
  /** The bearer key: the admin key unless given; null sends none. */
  readonly key?: string | null;
  readonly body?: unknown;
}

/** A billing API call at `baseUrl`; `adminKey` unless the call names another key (or null). */
export async function billingRequest(
  baseUrl: string,
  adminKey: string,
  method: string,
  path: string,
  call: ApiCall = {},
): Promise<ApiAnswer> {
  const key = call.key === undefined ? adminKey : call.key;
  const headers: Record<string, string> = {};
  if (key !== null) headers.authorization = `Bearer ${key}`;
  if (call.body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers,
    ...(call.body === undefined ? {} : { body: JSON.stringify(call.body) }),
  });
  const buffer = Buffer.from(await response.arrayBuffer());
  return {
    status: response.status,
    headers: response.headers,
    text: buffer.toString('utf8'),
    buffer,
  };
}

/** The parsed JSON body of an answer that must be a success (2xx); throws otherwise. */
export function successJson<T>(method: string, path: string, answer: ApiAnswer): T {
  if (answer.status < 200 || answer.status > 299) {
    throw new Error(`${method} ${path}: ${answer.status} ${answer.text}`);
  }
  return JSON.parse(answer.text) as T;
}

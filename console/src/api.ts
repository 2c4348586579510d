/**
 * The admin API from the page: the same origin, Basic credentials kept in this tab's session
 * storage only (never a cookie, never a URL) and sent as an Authorization header on each call.
 */
const KEY = "mft-console-credentials";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }

  /** The field a 400 names (`port: must be …` → `port`), if it names one. */
  get field(): string | undefined {
    if (this.status !== 400) return undefined;
    return /^([A-Za-z0-9_.[\]]+): /.exec(this.message)?.[1];
  }

  /** The message without the field's name in front. */
  get detail(): string {
    const field = this.field;
    return field ? this.message.slice(field.length + 2) : this.message;
  }
}

export const credentials = {
  get: () => sessionStorage.getItem(KEY),
  user: () => {
    const token = sessionStorage.getItem(KEY);
    return token ? atob(token).split(":")[0] : undefined;
  },
  set: (username: string, password: string) =>
    sessionStorage.setItem(KEY, btoa(`${username}:${password}`)),
  clear: () => sessionStorage.removeItem(KEY),
};

/** Called when the API answers 401: the page asks to sign in again. */
let onUnauthorized: () => void = () => {};
export const whenUnauthorized = (callback: () => void) => {
  onUnauthorized = callback;
};

export async function api<T = Record<string, unknown>>(
  method: string,
  path: string,
  body?: unknown,
): Promise<T> {
  const token = credentials.get();
  const response = await fetch(path, {
    method,
    headers: {
      ...(token ? { authorization: `Basic ${token}` } : {}),
      ...(body !== undefined ? { "content-type": "application/json" } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await response.text();
  let payload: unknown;
  try {
    payload = text ? JSON.parse(text) : undefined;
  } catch {
    payload = undefined;
  }
  if (!response.ok) {
    const error = (payload as { error?: { code?: string; message?: string } } | undefined)?.error;
    if (response.status === 401) onUnauthorized();
    throw new ApiError(
      response.status,
      error?.code ?? "http_error",
      error?.message ?? `HTTP ${response.status}`,
    );
  }
  return payload as T;
}

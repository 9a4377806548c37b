// The JSON responses of every route (ingest, stats API, health): one error
// shape, { error: { code, message } }, with a code a client can branch on.

export type ErrorCode =
  | "invalid_json"
  | "invalid_shape"
  | "unknown_key"
  | "origin_not_allowed"
  | "site_disabled"
  | "too_large"
  | "method_not_allowed"
  | "rate_limited"
  | "unavailable"
  | "missing_key"
  | "wrong_site"
  | "invalid_parameter";

export function json(
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json", ...headers },
  });
}

export function error(
  status: number,
  code: ErrorCode,
  message: string,
  headers?: Record<string, string>,
): Response {
  return json(status, { error: { code, message } }, headers);
}

/** The one map from error kind to HTTP status and headers: every failure leaves the API through here. */
import type { AppError, ErrorKind } from '../../core/errors.js';

export const STATUS_OF_KIND: Record<ErrorKind, number> = {
  validation: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  throttled: 409,
  conflict: 409,
  unsupported_media_type: 415,
  internal: 500,
};

// Only Bearer is advertised: a Basic challenge would make browsers prompt for, cache and then send credentials on
// other sites' requests (HTTP Basic still works for API clients that send it).
const UNAUTHORIZED_HEADERS = { 'WWW-Authenticate': 'Bearer realm="calbridge"' };

export function httpStatus(err: AppError): number {
  return STATUS_OF_KIND[err.kind];
}

export function httpHeaders(err: AppError): Record<string, string> {
  if (err.kind === 'unauthorized') return UNAUTHORIZED_HEADERS;
  if (err.kind === 'throttled' && err.retryAfterSeconds !== undefined) return { 'Retry-After': String(err.retryAfterSeconds), 'Cache-Control': 'no-cache' };
  return {};
}

/**
 * The closed set of error kinds the domain raises. The web layer owns the one map from kind to HTTP status
 * (web/nexudus/error-map.ts); nothing here knows HTTP.
 */
export interface FieldError {
  AttemptedValue: unknown;
  Message: string;
  PropertyName: string | null;
}

export const ERROR_KINDS = ['validation', 'unauthorized', 'forbidden', 'not_found', 'throttled', 'conflict', 'unsupported_media_type', 'internal'] as const;

export type ErrorKind = (typeof ERROR_KINDS)[number];

export class AppError extends Error {
  constructor(
    readonly kind: ErrorKind,
    message: string,
    readonly fieldErrors: FieldError[] | null = null,
    /** throttled: whole seconds to wait before trying again. */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }

  /** A validation failure with one entry per failing property; Message lists them as "Property: message; ...". */
  static validation(errors: FieldError[]): AppError {
    const message = errors.map((e) => (e.PropertyName ? `${e.PropertyName}: ${e.Message}` : e.Message)).join('; ');
    return new AppError('validation', message, errors);
  }

  static field(property: string | null, message: string, attempted: unknown = null): AppError {
    return AppError.validation([{ AttemptedValue: attempted ?? null, Message: message, PropertyName: property }]);
  }

  static notFound(message: string): AppError {
    return new AppError('not_found', message);
  }
}

export const THROTTLED_MESSAGE = 'You must wait before accessing this url again.';

/** Over a request or failed-login limit: come back in `retryAfter` seconds. */
export function throttled(retryAfter: number): AppError {
  return new AppError('throttled', THROTTLED_MESSAGE, null, retryAfter);
}

export function unauthorized(message: string): AppError {
  return new AppError('unauthorized', message);
}

/**
 * The closed set of error kinds the API answers with, each mapped to its HTTP status in one place.
 * Routes and services throw ApiError; the one error handler (app.ts) turns it into the Nexudus envelope.
 */
export interface FieldError {
  AttemptedValue: unknown;
  Message: string;
  PropertyName: string | null;
}

export const ERROR_STATUS = {
  validation: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  throttled: 409,
  conflict: 409,
  unsupported_media_type: 415,
  internal: 500,
} as const;

export type ErrorKind = keyof typeof ERROR_STATUS;

export class ApiError extends Error {
  readonly status: number;
  constructor(
    readonly kind: ErrorKind,
    message: string,
    readonly fieldErrors: FieldError[] | null = null,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.status = ERROR_STATUS[kind];
  }

  /** 400 with one entry per failing property; Message lists them as "Property: message; ...". */
  static validation(errors: FieldError[]): ApiError {
    const message = errors.map((e) => (e.PropertyName ? `${e.PropertyName}: ${e.Message}` : e.Message)).join('; ');
    return new ApiError('validation', message, errors);
  }

  static field(property: string | null, message: string, attempted: unknown = null): ApiError {
    return ApiError.validation([{ AttemptedValue: attempted ?? null, Message: message, PropertyName: property }]);
  }

  static notFound(message: string): ApiError {
    return new ApiError('not_found', message);
  }
}

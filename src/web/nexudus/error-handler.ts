/** The one error handler: every failure leaves as the Nexudus envelope with the status of its kind. */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isApiUrl } from './paths.js';
import { errorEnvelope } from './envelope.js';
import { httpHeaders, httpStatus } from './error-map.js';
import { AppError } from '../../core/errors.js';
import { fieldErrorsFromSchema } from './validation.js';

/** Database constraint failures that slipped past the service checks (races) are the client's 400, not our 500. */
function constraintError(err: { code?: string; message?: string }): AppError | undefined {
  const code = err.code ?? '';
  if (code === 'SQLITE_CONSTRAINT_FOREIGNKEY' || code === 'SQLITE_CONSTRAINT_TRIGGER' || code === '23503') {
    return AppError.field(null, 'The record references a record that does not exist, or is still referenced by another record.');
  }
  if (code === 'SQLITE_CONSTRAINT_UNIQUE' || code === '23505') {
    return AppError.field(null, 'A record with the same unique value already exists.');
  }
  // PostgreSQL refusing a value (a NUL byte in text, a number out of range): the client's bad input, never a 500.
  if (code === '22021' || code === '22P05' || code === '22003' || code === '22P02') {
    return AppError.field(null, 'A value in the request cannot be stored (a NUL character, or a number out of range).');
  }
  return undefined;
}

export function toApiError(err: FastifyError & { code?: string }, body: unknown): AppError {
  if (err instanceof AppError) return err;
  if (err.validation) {
    if (err.validationContext === 'body') return AppError.validation(fieldErrorsFromSchema(err.validation as never, body));
    return AppError.validation(err.validation.map((v) => ({ AttemptedValue: null, Message: v.message ?? 'is not valid', PropertyName: v.instancePath.slice(1) || null })));
  }
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return AppError.field(null, 'The request body is too large (the limit is 1 MB).');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new AppError('unsupported_media_type', 'Unsupported content type: send application/json or application/x-www-form-urlencoded.');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return AppError.field(null, 'The request body is empty; send a JSON object.');
    case 'CB_JSON_TOO_DEEP':
      return AppError.field(null, err.message);
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return AppError.field(null, `The request body is not valid JSON: ${err.message}`);
  }
  const constraint = constraintError(err);
  if (constraint) return constraint;
  if (err instanceof SyntaxError || err.statusCode === 400) return AppError.field(null, `The request body is not valid JSON: ${err.message}`);
  if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
    return new AppError(err.statusCode === 404 ? 'not_found' : 'validation', err.message);
  }
  return new AppError('internal', 'An unexpected error occurred; it has been logged.');
}

/**
 * `pageNotFound`: how an unknown path outside the API answers a browser (an HTML page); the API's paths, and
 * clients that do not ask for HTML, get the envelope.
 */
export function installErrorHandler(app: FastifyInstance, pageNotFound?: (request: FastifyRequest, reply: FastifyReply) => void): void {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    const apiError = toApiError(err, request.body);
    if (apiError.kind === 'internal') request.log.error({ err }, 'request failed');
    const status = httpStatus(apiError);
    reply.code(status).headers(httpHeaders(apiError)).send(errorEnvelope(status, apiError.message, apiError.fieldErrors));
  });
  app.setNotFoundHandler((request, reply) => {
    if (pageNotFound && !isApiUrl(request.url) && /text\/html/.test(request.headers.accept ?? '')) return pageNotFound(request, reply);
    reply.code(404).send(errorEnvelope(404, `No route for ${request.method} ${request.url.split('?')[0]}.`, null));
  });
}

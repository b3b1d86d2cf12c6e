/**
 * POST /api/token (OAuth2 as Nexudus documents it): password and refresh_token grants, form-encoded only,
 * client_id as header or field, rotating single-use refresh tokens, failed-login throttling.
 */
import { parse as parseForm } from 'node:querystring';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { Type } from 'typebox';
import { errorEnvelope } from './envelope.js';
import { httpHeaders, httpStatus } from './error-map.js';
import { ErrorEnvelopeSchema } from './schemas.js';
import type { TokenService } from '../../modules/users/token-service.js';
import { AppError } from '../../core/errors.js';

export interface TokenRouteDeps {
  tokens: TokenService;
}

const TokenAnswer = Type.Object({
  access_token: Type.String(),
  token_type: Type.Literal('bearer'),
  expires_in: Type.Integer(),
  refresh_token: Type.String(),
});
const TokenError = Type.Object({ error: Type.String(), error_description: Type.String() });

export async function tokenRoutes(app: FastifyInstance, deps: TokenRouteDeps): Promise<void> {
  // Only form-encoded bodies carry a grant; anything else is read raw and refused as unsupported_grant_type.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => done(null, body));
  // Token answers are never cached (RFC 6749 §5.1), errors included.
  app.addHook('onSend', async (_request, reply) => {
    reply.header('Cache-Control', 'no-store').header('Pragma', 'no-cache');
  });
  // Failures before the handler (a body over the limit, a broken stream) answer in the token endpoint's own shape.
  app.setErrorHandler((err: { code?: string; statusCode?: number; message?: string }, request, reply) => {
    if (err instanceof AppError) return reply.code(httpStatus(err)).headers(httpHeaders(err)).send(errorEnvelope(httpStatus(err), err.message, null));
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return reply.code(413).send({ error: 'invalid_request', error_description: 'The request body is too large (the limit is 1 MB).' });
    if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) return reply.code(400).send({ error: 'invalid_request', error_description: err.message ?? 'The request is not valid.' });
    request.log.error({ err }, 'token request failed');
    return reply.code(500).send({ error: 'server_error', error_description: 'An unexpected error occurred; it has been logged.' });
  });

  app.post('/api/token', {
    schema: {
      tags: ['Authentication'],
      summary: 'Get a bearer token (password grant) or rotate one (refresh_token grant)',
      description: 'Body application/x-www-form-urlencoded: grant_type=password&username=&password= or grant_type=refresh_token&refresh_token=. Optional client_id as header or field.',
      response: { 200: TokenAnswer, 400: TokenError, 409: ErrorEnvelopeSchema, 413: TokenError, 500: TokenError },
    },
  }, async (request, reply) => {
    const contentType = String(request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (contentType !== 'application/x-www-form-urlencoded' || typeof request.body !== 'string') {
      return fail(reply, 'unsupported_grant_type', 'The body must be application/x-www-form-urlencoded with a grant_type.');
    }
    const form = parseForm(request.body);
    const field = (name: string) => {
      const v = form[name];
      return typeof v === 'string' ? v : Array.isArray(v) ? v[v.length - 1] : undefined;
    };
    const headerClient = request.headers['client_id'];
    const clientId = (typeof headerClient === 'string' && headerClient) || field('client_id') || undefined;
    const grant = field('grant_type');
    // client_id is stored and indexed with the tokens: a bounded, printable name.
    if (clientId !== undefined && (clientId.length > 200 || /[\u0000-\u001f\u007f]/.test(clientId))) {
      return fail(reply, 'invalid_request', 'client_id must be at most 200 printable characters.');
    }

    if (grant === 'password') {
      let result;
      try {
        result = await deps.tokens.passwordGrant(field('username')?.trim() ?? '', field('password') ?? '', request.ip, clientId);
      } catch (err) {
        if (!(err instanceof AppError)) throw err;
        return reply.code(409).headers(httpHeaders(err)).send(errorEnvelope(409, err.message, null));
      }
      return result.ok ? result.tokens : fail(reply, result.error, result.description);
    }

    if (grant === 'refresh_token') {
      const result = await deps.tokens.refreshGrant(field('refresh_token'), clientId);
      return result.ok ? result.tokens : fail(reply, result.error, result.description);
    }

    return fail(reply, 'unsupported_grant_type', grant ? `The grant_type "${grant}" is not supported; use password or refresh_token.` : 'The grant_type is missing.');
  });
}

function fail(reply: FastifyReply, error: string, description: string) {
  return reply.code(400).send({ error, error_description: description });
}

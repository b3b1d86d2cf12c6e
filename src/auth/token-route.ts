/**
 * POST /api/token (OAuth2 as Nexudus documents it): password and refresh_token grants, form-encoded only,
 * client_id as header or field, rotating single-use refresh tokens, failed-login throttling.
 */
import { parse as parseForm } from 'node:querystring';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { Type } from 'typebox';
import { errorEnvelope } from '../http/envelope.js';
import { ErrorEnvelopeSchema } from '../http/schemas.js';
import type { UserRepository } from '../entities/users/repository.js';
import { newToken, type TokenRepository } from './token-repository.js';
import type { PasswordLogin } from './password-login.js';
import { ApiError } from '../http/errors.js';

export interface TokenRouteDeps {
  users: UserRepository;
  tokens: TokenRepository;
  accessTtlSeconds: number;
  refreshTtlSeconds: number;
  login: PasswordLogin;
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

  app.post('/api/token', {
    schema: {
      tags: ['Authentication'],
      summary: 'Get a bearer token (password grant) or rotate one (refresh_token grant)',
      description: 'Body application/x-www-form-urlencoded: grant_type=password&username=&password= or grant_type=refresh_token&refresh_token=. Optional client_id as header or field.',
      response: { 200: TokenAnswer, 400: TokenError, 409: ErrorEnvelopeSchema },
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

    if (grant === 'password') {
      const username = field('username')?.trim() ?? '';
      const password = field('password') ?? '';
      let user;
      try {
        user = await deps.login.check(username, password, request.ip);
      } catch (err) {
        if (!(err instanceof ApiError)) throw err;
        return reply.code(409).headers(err.headers).send(errorEnvelope(409, err.message, null));
      }
      if (!user) return fail(reply, 'invalid_grant', 'The user name or password is incorrect.');
      const client = clientId ?? user.email;
      // A new password grant replaces the earlier refresh tokens of the same user and client.
      await deps.tokens.revokeRefreshForClient(user.id, client);
      return issue(deps, user.id, client);
    }

    if (grant === 'refresh_token') {
      const token = field('refresh_token');
      const stored = token ? await deps.tokens.findRefresh(token) : undefined;
      if (!token || !stored || Number(stored.expires_at) <= Date.now()) {
        return fail(reply, 'invalid_grant', 'The refresh token is invalid, expired or already used.');
      }
      // A wrong client_id is refused without using the token up.
      if (clientId !== undefined && clientId !== stored.client_id) {
        return fail(reply, 'invalid_grant', 'The refresh token was issued to another client_id.');
      }
      if (!(await deps.tokens.consumeRefresh(token))) {
        return fail(reply, 'invalid_grant', 'The refresh token is invalid, expired or already used.');
      }
      return issue(deps, stored.user_id, stored.client_id);
    }

    return fail(reply, 'unsupported_grant_type', grant ? `The grant_type "${grant}" is not supported; use password or refresh_token.` : 'The grant_type is missing.');
  });
}

async function issue(deps: TokenRouteDeps, userId: number, clientId: string) {
  const access = newToken();
  const refresh = newToken();
  const now = Date.now();
  await deps.tokens.insertAccess(userId, clientId, access, now + deps.accessTtlSeconds * 1000);
  await deps.tokens.insertRefresh(userId, clientId, refresh, now + deps.refreshTtlSeconds * 1000);
  return { access_token: access, token_type: 'bearer' as const, expires_in: deps.accessTtlSeconds, refresh_token: refresh };
}

function fail(reply: FastifyReply, error: string, description: string) {
  return reply.code(400).send({ error, error_description: description });
}

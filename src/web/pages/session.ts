/**
 * Browser sessions for the pages: the same access and refresh tokens as the API (POST /api/token), kept in HttpOnly,
 * SameSite=Lax cookies (Secure behind an https PUBLIC_URL). An expired access token is renewed from the refresh cookie
 * (rotating it, like the API). Every form carries a CSRF token (@fastify/csrf-protection, its secret in a cookie);
 * the global Origin / Sec-Fetch-Site check (web/nexudus/cross-site.ts) refuses cross-site posts before that.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import cookie from '@fastify/cookie';
import csrf from '@fastify/csrf-protection';
import type { Authenticator, Principal } from '../../modules/users/authenticator.js';
import type { TokenService, TokenSet } from '../../modules/users/token-service.js';

const ACCESS = 'calbridge_session';
const REFRESH = 'calbridge_refresh';

export interface Sessions {
  /** The signed-in principal, or undefined (an expired access token is renewed from the refresh cookie). */
  principal(request: FastifyRequest, reply: FastifyReply): Promise<Principal | undefined>;
  signIn(reply: FastifyReply, email: string, password: string, ip: string): Promise<boolean>;
  /** Clears the cookies and revokes the tokens they held, so a copied cookie stops working too. */
  signOut(request: FastifyRequest, reply: FastifyReply): Promise<void>;
}

export async function installSessions(app: FastifyInstance, o: { authenticator: Authenticator; tokens: TokenService; secure: boolean }): Promise<Sessions> {
  const cookieOptions = { path: '/', httpOnly: true, sameSite: 'lax' as const, secure: o.secure };
  await app.register(cookie);
  await app.register(csrf, { cookieOpts: cookieOptions, cookieKey: 'calbridge_csrf' });

  const keep = (reply: FastifyReply, t: TokenSet) => {
    reply.setCookie(ACCESS, t.access_token, { ...cookieOptions, maxAge: t.expires_in });
    reply.setCookie(REFRESH, t.refresh_token, { ...cookieOptions, maxAge: 15 * 86400 });
  };

  return {
    async principal(request, reply) {
      const access = request.cookies[ACCESS];
      if (access) {
        try {
          return await o.authenticator.session(access);
        } catch { /* expired: try the refresh token */ }
      }
      const refresh = request.cookies[REFRESH];
      if (!refresh) return undefined;
      const renewed = await o.tokens.refreshGrant(refresh, undefined);
      if (!renewed.ok) {
        reply.clearCookie(REFRESH, { path: '/' });
        return undefined;
      }
      keep(reply, renewed.tokens);
      return o.authenticator.session(renewed.tokens.access_token);
    },
    async signIn(reply, email, password, ip) {
      // One client id per browser sign-in: signing in elsewhere does not end this session.
      const granted = await o.tokens.passwordGrant(email, password, ip, `web:${randomBytes(6).toString('hex')}`);
      if (!granted.ok) return false;
      keep(reply, granted.tokens);
      return true;
    },
    async signOut(request, reply) {
      await o.tokens.endSession({ access: request.cookies[ACCESS], refresh: request.cookies[REFRESH] });
      reply.clearCookie(ACCESS, { path: '/' });
      reply.clearCookie(REFRESH, { path: '/' });
    },
  };
}

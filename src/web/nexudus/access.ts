/**
 * The access check every API route runs first (onRequest, before the body is read): authenticate, throttle per
 * client, then authorise for the route's role. Order matters: 401 before 409 before 403 before any 400.
 */
import type { FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import { AppError, throttled } from '../../core/errors.js';
import { authorize, type Authenticator, type Principal } from '../../modules/users/authenticator.js';
import type { WindowCounter } from '../../modules/users/throttle.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal;
  }
}

export interface AccessDeps {
  authenticator: Authenticator;
  /** null when throttling is off. */
  throttle: WindowCounter | null;
}

/** role: the role that grants access; null means full administrators only; undefined: any authenticated caller
 * (the route authorizes itself, e.g. by a command's key). */
export function requireAccess(deps: AccessDeps, role: string | null | undefined): onRequestAsyncHookHandler {
  return async function access(request: FastifyRequest) {
    let principal: Principal;
    try {
      principal = await deps.authenticator.authenticate(request.headers.authorization, request.ip);
    } catch (err) {
      if (err instanceof AppError && err.kind === 'throttled') throw err; // the failed-login limit (HTTP Basic)
      const wait = deps.throttle?.hit(`ip:${request.ip}`) ?? 0;
      throw wait ? throttled(wait) : err;
    }
    const wait = deps.throttle?.hit(`user:${principal.userId}`) ?? 0;
    if (wait) throw throttled(wait);
    if (role !== undefined) authorize(principal, role);
    request.principal = principal;
  };
}

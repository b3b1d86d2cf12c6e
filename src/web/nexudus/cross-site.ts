/**
 * A browser on another site must not be able to change anything here: its form posts carry the browser's cached
 * credentials (HTTP Basic) but also an Origin and Sec-Fetch-Site header, which API clients don't send. A state-changing
 * request whose Sec-Fetch-Site says cross-site, or whose Origin is not this service's, is refused with 403 before it
 * is authenticated or read. Requests without either header (curl, Nexudus clients, Graph's webhooks) are unaffected.
 */
import type { FastifyInstance } from 'fastify';
import { AppError } from '../../core/errors.js';

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

export function refuseCrossSiteWrites(app: FastifyInstance, publicOrigin: string | undefined): void {
  // A callback hook, not an async one: most requests are reads and should not pay for a promise here.
  app.addHook('onRequest', (request, _reply, done) => {
    if (SAFE.has(request.method)) return done();
    const site = request.headers['sec-fetch-site'];
    const origin = request.headers.origin;
    const own = new Set([publicOrigin, `${request.protocol}://${request.headers.host}`].filter(Boolean));
    if (site === 'cross-site' || (origin !== undefined && origin !== 'null' && !own.has(origin)) || origin === 'null') {
      return done(new AppError('forbidden', 'Cross-site requests cannot change anything here: send the request from calbridge itself or from an API client.'));
    }
    done();
  });
}

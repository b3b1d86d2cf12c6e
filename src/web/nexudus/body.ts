/**
 * Request bodies: JSON (also when no Content-Type is sent) and form-encoded; anything else is 415.
 */
import { parse as parseForm } from 'node:querystring';
import type { FastifyInstance } from 'fastify';

export function installBodyParsers(app: FastifyInstance): void {
  app.removeContentTypeParser('text/plain');
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
    done(null, { ...parseForm(body as string) });
  });
  // A body without Content-Type is read as JSON (real clients forget the header).
  app.addHook('onRequest', (request, _reply, done) => {
    const h = request.headers;
    if (!h['content-type'] && (h['content-length'] && h['content-length'] !== '0' || h['transfer-encoding'])) {
      h['content-type'] = 'application/json';
    }
    done();
  });
}

/**
 * Request bodies: JSON (also when no Content-Type is sent) and form-encoded; anything else is 415.
 */
import { parse as parseForm } from 'node:querystring';
import type { FastifyInstance } from 'fastify';

/** JSON nested deeper than this is refused before it is parsed (no real client sends it; it only costs). */
export const MAX_JSON_DEPTH = 64;

/** The nesting depth of a JSON text, scanned without parsing (brackets inside strings don't count). */
export function jsonDepth(text: string, limit: number): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92) i++; // backslash: skip the escaped character
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 || c === 91) {
      if (++depth > max) max = depth;
      if (max > limit) return max;
    } else if (c === 125 || c === 93) depth--;
  }
  return max;
}

export function installBodyParsers(app: FastifyInstance): void {
  app.removeContentTypeParser('text/plain');
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    if (jsonDepth(body as string, MAX_JSON_DEPTH) > MAX_JSON_DEPTH) {
      const err = Object.assign(new Error(`The request body is nested more than ${MAX_JSON_DEPTH} levels deep.`), { statusCode: 400, code: 'CB_JSON_TOO_DEEP' });
      return done(err, undefined);
    }
    parseJson(req, body as string, done);
  });
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

/**
 * Secrets at rest (member refresh tokens): AES-256-GCM with a key from configuration (TOKEN_ENCRYPTION_KEY,
 * 32 bytes as base64 or hex). Each value gets a random nonce; the auth tag makes a wrong key fail loudly.
 */
import crypto, { createCipheriv, createDecipheriv, createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export class SecretBoxError extends Error {}

export class SecretBox {
  private readonly key: Buffer;

  constructor(keyText: string) {
    this.key = SecretBox.parseKey(keyText);
  }

  static parseKey(text: string): Buffer {
    const t = text.trim();
    const key = /^[0-9a-f]{64}$/i.test(t) ? Buffer.from(t, 'hex') : Buffer.from(t, 'base64');
    if (key.length !== 32) throw new SecretBoxError('TOKEN_ENCRYPTION_KEY must be 32 bytes, as 64 hex digits or base64 (e.g. `openssl rand -base64 32`)');
    return key;
  }

  seal(plain: string): string {
    const nonce = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, nonce);
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return `v1.${nonce.toString('base64url')}.${body.toString('base64url')}.${cipher.getAuthTag().toString('base64url')}`;
  }

  open(sealed: string): string {
    const [version, nonce, body, tag] = sealed.split('.');
    if (version !== 'v1' || !nonce || body === undefined || !tag) throw new SecretBoxError('not a sealed value');
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(nonce, 'base64url'));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
    } catch {
      throw new SecretBoxError('cannot decrypt: TOKEN_ENCRYPTION_KEY is not the key these secrets were sealed with');
    }
  }
}

/**
 * SHA-256 of a text, base64url: every digest calbridge keeps or compares (token hashes, clientState, PKCE, sign-in
 * state, login keys). Node's one-shot `crypto.hash` (20.12+) takes 0.3 µs where a Hash object takes 0.7–1.3 µs, and
 * an access token is hashed on every API request.
 */
export const sha256 = typeof crypto.hash === 'function'
  ? (text: string): string => crypto.hash('sha256', text, 'base64url')
  : (text: string): string => createHash('sha256').update(text).digest('base64url');

/**
 * A secret calbridge only has to recognise, never to send again (a subscription's clientState): stored as its SHA-256
 * (the secret is 256 random bits, so the digest reveals nothing and needs no key), compared in constant time.
 */
export function digestSecret(secret: string): string {
  return sha256(secret);
}

export function matchesDigest(secret: string, digest: string): boolean {
  const a = createHash('sha256').update(secret).digest();
  const b = Buffer.from(digest, 'base64url');
  return b.length === a.length && timingSafeEqual(a, b);
}

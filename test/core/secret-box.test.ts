/** One SHA-256 for every digest calbridge keeps: it must stay byte-for-byte what stored token hashes were made with. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { digestSecret, matchesDigest, sha256 } from '../../src/core/secret-box.js';

test('sha256 is SHA-256 in base64url (FIPS 180-2 vector "abc")', () => {
  assert.equal(Buffer.from(sha256('abc'), 'base64url').toString('hex'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
});

test('sha256 gives what a Hash object gives for any text, so digests stored before still match', () => {
  fc.assert(fc.property(fc.string({ unit: 'grapheme', maxLength: 200 }), (text) => {
    assert.equal(sha256(text), createHash('sha256').update(text).digest('base64url'));
    assert.ok(matchesDigest(text, digestSecret(text)));
    assert.ok(!matchesDigest(`${text}x`, digestSecret(text)));
  }));
});

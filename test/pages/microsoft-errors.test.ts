/** What the /connect pages tell a member about Microsoft's answers, and who must act (pure: no Graph). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { explainMicrosoftError } from '../../src/modules/connect/microsoft-errors.js';

test("Microsoft's sign-in and Graph errors map to advice and to who can fix them", () => {
  const cases: Array<[string | undefined, string | undefined, RegExp, 'member' | 'operator']> = [
    ['access_denied', 'AADSTS65004: User declined to consent to access the app.', /declined the permissions/, 'member'],
    ['access_denied', undefined, /declined the permissions/, 'member'],
    ['consent_required', 'AADSTS65001: The user or administrator has not consented', /must approve calbridge/, 'operator'],
    ['access_denied', 'AADSTS90094: Admin consent is required for the permissions requested by this application.', /must approve calbridge/, 'operator'],
    ['invalid_client', 'AADSTS7000215: Invalid client secret provided.', /not set up correctly/, 'operator'],
    ['invalid_client', 'AADSTS7000222: The provided client secret keys for app are expired.', /not set up correctly/, 'operator'],
    ['access_denied', 'AADSTS53003: Access has been blocked by Conditional Access policies.', /organisation blocked the sign-in/, 'operator'],
    ['interaction_required', 'AADSTS50076: Due to a configuration change made by your administrator, you must use multi-factor authentication.', /more verification/, 'member'],
    ['MailboxNotEnabledForRESTAPI', 'The mailbox is either inactive, soft-deleted, or is hosted on-premise.', /no Outlook mailbox/, 'member'],
    ['invalid_grant', 'AADSTS70008: The provided authorization code or refresh token has expired.', /sign in again/, 'member'],
    ['temporarily_unavailable', 'The server is busy.', /Microsoft answered: The server is busy\./, 'operator'],
  ];
  for (const [code, description, advice, by] of cases) {
    const e = explainMicrosoftError(code, description);
    assert.match(`${e.title} ${e.advice}`, advice, `${code} ${description}`);
    assert.equal(e.by, by, `${code} ${description}`);
  }
});

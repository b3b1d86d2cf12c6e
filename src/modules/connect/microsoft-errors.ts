/**
 * What a member (or the operator) should do about what Microsoft answered during /connect. Microsoft's sign-in errors
 * arrive as `error` + `error_description` (with an AADSTS number) on the redirect, or from the token and Graph calls.
 */
export interface Explained {
  title: string;
  advice: string;
  /** Who can fix it. */
  by: 'member' | 'operator';
}

const BY_AADSTS: Array<[RegExp, Explained]> = [
  [/AADSTS65004\b/, { title: 'You declined the permissions', advice: 'calbridge needs to read and write your calendar to book rooms for your meetings. Start again and accept the permissions, or leave your calendar unconnected.', by: 'member' }],
  [/AADSTS(90094|90095|65001)\b/, { title: 'Your organisation must approve calbridge first', advice: 'Your Microsoft 365 administrator has to grant consent to calbridge (Calendars.ReadWrite) for your organisation. Ask them, or ask the space to do it with them, then start again.', by: 'operator' }],
  [/AADSTS(7000215|7000222|700016|50011|500113)\b/, { title: 'calbridge is not set up correctly with Microsoft', advice: "The space's calbridge registration with Microsoft is refused (client secret, application id or redirect address). This is not something you can fix: tell the space's staff.", by: 'operator' }],
  // Multi-factor authentication asked for: the member can complete it (as for a refused refresh token, README "States").
  [/AADSTS(50076|50079)\b/, { title: 'Microsoft asks for more verification', advice: 'Your organisation requires multi-factor authentication for this. Connect again and complete the verification Microsoft asks for; if it keeps failing, ask your Microsoft 365 administrator.', by: 'member' }],
  [/AADSTS(50105|530003|53003)\b/, { title: 'Your organisation blocked the sign-in', advice: 'A policy of your organisation (access not assigned to you, or conditional access) stopped the sign-in. Ask your Microsoft 365 administrator.', by: 'operator' }],
];

/** The page to show for an error Microsoft answered; `code` is `error` (OAuth) or a Graph error code. */
export function explainMicrosoftError(code: string | undefined, description: string | undefined): Explained {
  const text = `${code ?? ''} ${description ?? ''}`;
  for (const [pattern, explained] of BY_AADSTS) if (pattern.test(text)) return explained;
  if (code === 'access_denied') return BY_AADSTS[0]![1];
  if (code === 'consent_required' || code === 'admin_consent_required') return BY_AADSTS[1]![1];
  if (/MailboxNotEnabledForRESTAPI|MailboxNotHostedInExchangeOnline|ResourceNotFound|ErrorItemNotFound/i.test(text)) {
    return { title: 'Your account has no Outlook mailbox', advice: 'The Microsoft account you signed in with has no Exchange Online mailbox, so it has no calendar calbridge can use. Sign in with your work account, or ask your administrator to give it a mailbox.', by: 'member' };
  }
  if (code === 'login_required' || code === 'interaction_required' || code === 'invalid_grant') {
    return { title: 'Please sign in again', advice: 'Microsoft needs you to sign in again. Start the connection again.', by: 'member' };
  }
  return { title: 'Microsoft refused the connection', advice: `Microsoft answered: ${description || code || 'an unknown error'}. Try again; if it keeps happening, tell the space's staff.`, by: 'operator' };
}

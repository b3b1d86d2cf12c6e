import { GraphError } from './errors.js';
import { guid, newChangeKey, outlookId, randomToken } from './ids.js';

export interface TenantRecord {
  id: string;
  displayName: string;
  /** Verified domain, e.g. contoso.onmicrosoft.com; usable in place of the id in authority URLs. */
  domain: string;
}

export interface AppRecord {
  clientId: string;
  clientSecret: string;
  /** The secret's expiry passed (an operator forgot to renew it): the token endpoint answers invalid_client 7000222. */
  secretExpired?: boolean;
  tenantId: string;
  displayName: string;
  /** Registered redirect URIs; empty = any redirect URI is accepted. */
  redirectUris: string[];
  /** Object id of the app's service principal (creatorId of app-only subscriptions). */
  servicePrincipalId: string;
  /** Application permissions granted (roles claim of app-only tokens). */
  roles: string[];
  /**
   * The next sign-ins Entra refuses after the user picked an account (set through the control API): each redirects
   * back with this OAuth `error` and `error_description`, as Entra does when consent or a policy stops a sign-in.
   */
  signInFailure?: { error: string; description: string; remaining: number };
}

export interface UserRecord {
  id: string;
  tenantId: string;
  displayName: string;
  userPrincipalName: string;
  mail: string;
  /** 'room' mailboxes behave like users; the field is informational. */
  kind: 'user' | 'room';
}

export interface CalendarRecord {
  id: string;
  userId: string;
  name: string;
  isDefault: boolean;
  changeKey: string;
  color: string;
}

export interface NewTenant {
  id?: string;
  displayName?: string;
  domain?: string;
}
export interface NewApp {
  tenantId: string;
  clientId?: string;
  clientSecret?: string;
  displayName?: string;
  redirectUris?: string[];
  roles?: string[];
}
export interface NewUser {
  tenantId: string;
  id?: string;
  displayName?: string;
  userPrincipalName?: string;
  mail?: string;
  kind?: 'user' | 'room';
}

/** Tenants, app registrations, users (mailboxes) and their calendars. */
export class Directory {
  readonly tenants = new Map<string, TenantRecord>();
  readonly apps = new Map<string, AppRecord>();
  readonly users = new Map<string, UserRecord>();
  readonly calendars = new Map<string, CalendarRecord>();

  createTenant(input: NewTenant = {}): TenantRecord {
    const id = input.id ?? guid();
    if (this.tenants.has(id)) throw new GraphError(409, 'Conflict', `Tenant ${id} already exists.`);
    const slug = (input.displayName ?? `tenant${this.tenants.size + 1}`).toLowerCase().replace(/[^a-z0-9]+/g, '') || 'tenant';
    const t: TenantRecord = { id, displayName: input.displayName ?? slug, domain: (input.domain ?? `${slug}.onmicrosoft.com`).toLowerCase() };
    this.tenants.set(id, t);
    return t;
  }

  /** By id or verified domain. */
  findTenant(idOrDomain: string): TenantRecord | undefined {
    const key = idOrDomain.toLowerCase();
    for (const t of this.tenants.values()) if (t.id.toLowerCase() === key || t.domain === key) return t;
    return undefined;
  }

  createApp(input: NewApp): AppRecord {
    const tenant = this.requireTenant(input.tenantId);
    const clientId = input.clientId ?? guid();
    if (this.apps.has(clientId)) throw new GraphError(409, 'Conflict', `Application ${clientId} already exists.`);
    const app: AppRecord = {
      clientId,
      clientSecret: input.clientSecret ?? `emu~${randomToken(24)}`,
      tenantId: tenant.id,
      displayName: input.displayName ?? 'Emulated app',
      redirectUris: input.redirectUris ?? [],
      servicePrincipalId: guid(),
      roles: input.roles ?? ['Calendars.ReadWrite', 'Calendars.Read'],
    };
    this.apps.set(clientId, app);
    return app;
  }

  createUser(input: NewUser): UserRecord {
    const tenant = this.requireTenant(input.tenantId);
    const id = input.id ?? guid();
    if (this.users.has(id)) throw new GraphError(409, 'Conflict', `User ${id} already exists.`);
    const nick = (input.displayName ?? `user${this.users.size + 1}`).toLowerCase().replace(/[^a-z0-9]+/g, '.').replace(/^\.|\.$/g, '') || 'user';
    const upn = (input.userPrincipalName ?? `${nick}@${tenant.domain}`).toLowerCase();
    for (const u of this.users.values()) {
      if (u.userPrincipalName === upn) throw new GraphError(409, 'Conflict', `User ${upn} already exists.`);
    }
    const user: UserRecord = {
      id,
      tenantId: tenant.id,
      displayName: input.displayName ?? nick,
      userPrincipalName: upn,
      mail: (input.mail ?? upn).toLowerCase(),
      kind: input.kind ?? 'user',
    };
    this.users.set(id, user);
    this.createCalendar(id, 'Calendar', true);
    return user;
  }

  createCalendar(userId: string, name: string, isDefault = false): CalendarRecord {
    if (!this.users.has(userId)) throw new GraphError(404, 'ErrorInvalidUser', `The requested user '${userId}' is invalid.`);
    const cal: CalendarRecord = { id: outlookId('AAMkAGCal'), userId, name, isDefault, changeKey: newChangeKey(), color: 'auto' };
    this.calendars.set(cal.id, cal);
    return cal;
  }

  requireTenant(idOrDomain: string): TenantRecord {
    const t = this.findTenant(idOrDomain);
    if (!t) throw new GraphError(404, 'NotFound', `Tenant '${idOrDomain}' not found.`);
    return t;
  }

  /** By id or userPrincipalName/mail (case-insensitive), within a tenant when given. */
  findUser(idOrUpn: string, tenantId?: string): UserRecord | undefined {
    const key = idOrUpn.toLowerCase();
    for (const u of this.users.values()) {
      if (tenantId && u.tenantId !== tenantId) continue;
      if (u.id.toLowerCase() === key || u.userPrincipalName === key || u.mail === key) return u;
    }
    return undefined;
  }

  calendarsOf(userId: string): CalendarRecord[] {
    return [...this.calendars.values()].filter((c) => c.userId === userId).sort((a, b) => Number(b.isDefault) - Number(a.isDefault));
  }

  defaultCalendar(userId: string): CalendarRecord {
    const cal = this.calendarsOf(userId).find((c) => c.isDefault);
    if (!cal) throw new GraphError(404, 'ErrorItemNotFound', 'The default calendar was not found.');
    return cal;
  }

  usersOf(tenantId: string): UserRecord[] {
    return [...this.users.values()].filter((u) => u.tenantId === tenantId);
  }

  clear(): void {
    this.tenants.clear();
    this.apps.clear();
    this.users.clear();
    this.calendars.clear();
  }
}

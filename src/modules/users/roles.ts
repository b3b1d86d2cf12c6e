/** Role names: `{Entity}-{Action}` for every entity the API serves. Full administrators need none. */
export const ROLE_ENTITIES = ['CoworkerMsOfficeCalendar', 'Coworker', 'Resource', 'Booking'] as const;
export const ROLE_ACTIONS = ['List', 'Read', 'Create', 'Edit', 'Delete'] as const;
export type RoleAction = (typeof ROLE_ACTIONS)[number];

export const KNOWN_ROLES: readonly string[] = ROLE_ENTITIES.flatMap((e) => ROLE_ACTIONS.map((a) => `${e}-${a}`));

export function roleName(entity: string, action: RoleAction): string {
  return `${entity}-${action}`;
}

/**
 * What every member login may do, on its own records only (the routes scope them to its coworker): manage its
 * calendar connections and bookings, and see the space's resources.
 */
export const MEMBER_ROLES: readonly string[] = [
  ...ROLE_ACTIONS.map((a) => roleName('CoworkerMsOfficeCalendar', a)),
  ...ROLE_ACTIONS.map((a) => roleName('Booking', a)),
  roleName('Resource', 'List'), roleName('Resource', 'Read'),
  roleName('Coworker', 'List'), roleName('Coworker', 'Read'),
];

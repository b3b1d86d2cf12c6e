/** Wires storage → repositories → services once; the HTTP app and the command line both start from here. */
import type { Config } from './config.js';
import type { Storage } from './storage/database.js';
import { TokenRepository } from './auth/token-repository.js';
import { CoworkerMsOfficeCalendarRepository } from './entities/coworker-ms-office-calendars/repository.js';
import { CoworkerMsOfficeCalendarService } from './entities/coworker-ms-office-calendars/service.js';
import { CoworkerRepository } from './entities/coworkers/repository.js';
import { CoworkerService } from './entities/coworkers/service.js';
import { ResourceRepository } from './entities/resources/repository.js';
import { ResourceService } from './entities/resources/service.js';
import { UserRepository } from './entities/users/repository.js';
import { UserService } from './entities/users/service.js';
import { JobStore } from './jobs/job-store.js';
import { ConnectionRepository } from './graph/connection-repository.js';

export function createContainer(storage: Storage, config: Pick<Config, 'scryptCost'>) {
  const tokens = new TokenRepository(storage.db);
  const users = new UserRepository(storage);
  const coworkers = new CoworkerRepository(storage);
  const resources = new ResourceRepository(storage);
  const calendars = new CoworkerMsOfficeCalendarRepository(storage);
  return {
    storage,
    jobs: new JobStore(storage.db, storage.dialect),
    connections: new ConnectionRepository(storage.db),
    tokens,
    users,
    coworkers,
    resources,
    calendars,
    userService: new UserService(users, tokens, coworkers, config.scryptCost),
    coworkerService: new CoworkerService(coworkers),
    resourceService: new ResourceService(resources),
    calendarService: new CoworkerMsOfficeCalendarService(calendars, resources, coworkers),
  };
}

export type Container = ReturnType<typeof createContainer>;

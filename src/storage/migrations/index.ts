import type { Migration } from 'kysely';
import type { Dialect } from '../dialect.js';
import { initial } from './001-initial.js';
import { jobs } from './002-jobs.js';
import { dataVersion } from './003-data-version.js';
import { graph } from './004-graph.js';
import { connectionSubscription } from './005-connection-subscription.js';
import { bookings } from './006-bookings.js';
import { tokenFamilies } from './007-token-families.js';
import { clientStateDigest } from './008-client-state-digest.js';
import { eventWritten } from './009-event-written.js';
import { connectionActionBy } from './010-connection-action-by.js';
import { connectAttempts } from './011-connect-attempts.js';
import { connectRedirect } from './012-connect-redirect.js';
import { nameStatistics } from './013-name-statistics.js';
import { nameLowerColumn } from './014-name-lower-column.js';
import { nameLowerById } from './015-name-lower-by-id.js';
import { nameIndexPerCommit } from './016-name-index-per-commit.js';
import { nameIndexMergePerCommit } from './017-name-index-merge-per-commit.js';
import { outlookBookingsWritten } from './018-outlook-bookings-written.js';
import { sharedMeetings } from './019-shared-meetings.js';

/** Every migration, in order. Names sort; never rename or edit one that has shipped. */
export function allMigrations(dialect: Dialect): Record<string, Migration> {
  return {
    '001-initial': initial(dialect),
    '002-jobs': jobs(dialect),
    '003-data-version': dataVersion(dialect),
    '004-graph': graph(dialect),
    '005-connection-subscription': connectionSubscription(dialect),
    '006-bookings': bookings(dialect),
    '007-token-families': tokenFamilies(dialect),
    '008-client-state-digest': clientStateDigest(dialect),
    '009-event-written': eventWritten(dialect),
    '010-connection-action-by': connectionActionBy(dialect),
    '011-connect-attempts': connectAttempts(dialect),
    '012-connect-redirect': connectRedirect(dialect),
    '013-name-statistics': nameStatistics(dialect),
    '014-name-lower-column': nameLowerColumn(dialect),
    '015-name-lower-by-id': nameLowerById(dialect),
    '016-name-index-per-commit': nameIndexPerCommit(dialect),
    '017-name-index-merge-per-commit': nameIndexMergePerCommit(dialect),
    '018-outlook-bookings-written': outlookBookingsWritten,
    '019-shared-meetings': sharedMeetings,
  };
}

/**
 * Wire shapes the emulator sends, typed with Microsoft's own model (@microsoft/microsoft-graph-types) so a shape
 * Graph would not send does not compile. OData annotations are added where Graph adds them.
 */
import type {
  Calendar,
  ChangeNotification,
  ChangeNotificationCollection,
  ChangeType,
  Event,
  LifecycleEventType,
  ResourceData,
  Subscription,
  User,
} from '@microsoft/microsoft-graph-types';

export type { Calendar, Event, Subscription, User, ChangeType, LifecycleEventType };

export interface ODataAnnotated {
  '@odata.context'?: string;
  '@odata.etag'?: string;
  '@odata.type'?: string;
}

export type GraphEvent = Event & ODataAnnotated;
export type GraphCalendar = Calendar & ODataAnnotated;
export type GraphUser = User & ODataAnnotated;
export type GraphSubscription = Subscription & ODataAnnotated;

/** Basic (no resource data) notification payload for an Outlook event. */
export interface EventResourceData extends ResourceData {
  '@odata.type': '#Microsoft.Graph.Event';
  '@odata.id': string;
  '@odata.etag': string;
  id: string;
}

export interface EventChangeNotification extends ChangeNotification {
  subscriptionId: string;
  subscriptionExpirationDateTime: string;
  changeType: ChangeType;
  resource: string;
  resourceData: EventResourceData;
  clientState: string | null;
  tenantId: string;
  lifecycleEvent?: never;
}

export interface LifecycleNotification extends ChangeNotification {
  subscriptionId: string;
  subscriptionExpirationDateTime: string;
  lifecycleEvent: LifecycleEventType;
  clientState: string | null;
  tenantId: string;
  changeType?: never;
  resourceData?: never;
}

export type AnyNotification = EventChangeNotification | LifecycleNotification;

export interface NotificationCollection extends ChangeNotificationCollection {
  value: AnyNotification[];
}

/** A tombstone in a delta page. */
export interface DeltaRemovedEvent {
  '@odata.type': '#microsoft.graph.event';
  id: string;
  '@removed': { reason: 'deleted' | 'changed' };
}

export interface CollectionPage<T> {
  '@odata.context'?: string;
  '@odata.nextLink'?: string;
  '@odata.deltaLink'?: string;
  value: T[];
}

/** Graph error body. */
export interface GraphErrorBody {
  error: { code: string; message: string; innerError?: Record<string, string> };
}

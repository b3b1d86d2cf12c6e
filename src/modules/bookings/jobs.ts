/** The bookings' jobs on the durable queue, and their dedupe keys. */
export const BookingJobs = {
  /** Write a booking made, moved or cancelled through the API to the member's Outlook calendar. */
  push: 'bookings.push',
  /** Mark a conflicting event in the member's Outlook (category and body line). */
  mark: 'bookings.mark',
  /** Remove calbridge's marks from an event that got booked (or went away). */
  unmark: 'bookings.unmark',
  /** A resource freed up: book the conflicts waiting for it. */
  rebook: 'bookings.rebook',
  /** Ask Graph whether an API booking's event (outside the round's window) still exists; cancel the booking if not. */
  verify: 'bookings.verify',
} as const;

export const bookingDedupe = {
  push: (bookingId: number) => `bookings.push:${bookingId}`,
  mark: (conflictId: number) => `bookings.mark:${conflictId}`,
  unmark: (connectionId: number, eventKey: string) => `bookings.unmark:${connectionId}:${eventKey}`,
  rebook: (resourceId: number) => `bookings.rebook:${resourceId}`,
  verify: (bookingId: number) => `bookings.verify:${bookingId}`,
};

/** The category calbridge puts on an event it could not book (removed once it is booked). */
export const CONFLICT_CATEGORY = 'calbridge: not booked';
/** The single-value extended property naming the booking an event was written for. */
export const BOOKING_PROPERTY_ID = 'String {4f3c2b1a-6d5e-4c7b-9a8f-0e1d2c3b4a59} Name calbridgeBookingId';

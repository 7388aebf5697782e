/** Delivery statuses, as the store keeps them and as the operator API names them. */

export const DELIVERY_STATUSES = ['pending', 'delivered', 'failed', 'given_up', 'cancelled'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

/** As the API names them: `retrying` is pending after a failed attempt. */
export const API_DELIVERY_STATUSES = ['pending', 'retrying', 'delivered', 'failed', 'given_up', 'cancelled'] as const;
export type ApiDeliveryStatus = (typeof API_DELIVERY_STATUSES)[number];
export const apiStatus = (status: DeliveryStatus, attempts: unknown): ApiDeliveryStatus => (status === 'pending' && Number(attempts) > 0 ? 'retrying' : status);
export const isDeliveryStatus = (s: string): s is ApiDeliveryStatus => (API_DELIVERY_STATUSES as readonly string[]).includes(s);

/** An event's deliveries, together. */
export const EVENT_DELIVERY_STATUSES = ['no_subscription', 'pending', 'retrying', 'failed', 'delivered', 'cancelled'] as const;
export type EventDeliveryStatus = (typeof EVENT_DELIVERY_STATUSES)[number];

/** Where a delivery came from: the vendor's event, or an operator's replay. */
export type DeliveryOrigin = 'vendor' | 'replay';

/**
 * The lease a disabled account's queued deliveries hold: one that never runs out, so no claim
 * takes them (they are kept, not sent) until the account is enabled again.
 */
export const PAUSED = 'paused:account-disabled';
export const PAUSED_UNTIL = 8_000_000_000_000_000; // far past any clock, within a BIGINT and a JS safe integer

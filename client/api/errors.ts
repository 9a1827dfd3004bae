// Errors the client gives the application: a subscription that ended for good, a publish refused.

/** A subscription ended for good: `ready` rejects with it and the subscription's `error` event carries it. */
export class SubscriptionError extends Error {
  override name = 'SubscriptionError';
  constructor(
    /** The origin's error code (`forbidden`, `token_expired`, `invalid_channel`, ...), or `unsubscribed`, `closed`. */
    readonly code: string,
    readonly channel: string,
    message: string,
  ) {
    super(`${channel}: ${message}`);
  }
}

export class PublishError extends Error {
  override name = 'PublishError';
  constructor(
    /** The origin's error code (`publish_forbidden`, `message_too_large`, ...), or `connection_lost`, `timeout`, `closed`. */
    readonly code: string,
    readonly channel: string,
    message: string,
  ) {
    super(`${channel}: ${message}`);
  }
}

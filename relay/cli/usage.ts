export const USAGE = `usage:
  demohooks-relay serve
  demohooks-relay account create --name NAME [--json]
  demohooks-relay account list [--json]
  demohooks-relay account rotate-key [--account ID] [--json]
  demohooks-relay account rotate-inbound --provider P [--overlap-hours H] [--account ID] [--json]
  demohooks-relay account disable [--account ID] [--json]
  demohooks-relay account enable [--account ID] [--json]
  demohooks-relay alerts set URL [--account ID] [--json]
  demohooks-relay alerts remove [--account ID] [--json]
  demohooks-relay hooks list [--limit N] [--before ID] [--account ID] [--json]
  demohooks-relay hooks create TARGET_URL --event E [--zap-id Z] [--trigger T] [--account ID] [--json]
  demohooks-relay hooks delete HOOK_ID [--account ID] [--json]
  demohooks-relay hooks retry-now HOOK_ID [--account ID] [--json]
  demohooks-relay hooks retry-failed HOOK_ID [--since ISO_TIME] [--account ID] [--json]
  demohooks-relay events list [--provider P] [--event E] [--delivery-status S] [--q TEXT] [--limit N] [--before ID] [--account ID] [--json]
  demohooks-relay events replay EVENT_ID [--account ID] [--json]
  demohooks-relay deliveries list [--status S] [--hook ID] [--limit N] [--before ID] [--account ID] [--json]
  demohooks-relay deliveries show DELIVERY_ID [--account ID] [--json]
  demohooks-relay deliveries retry DELIVERY_ID [--account ID] [--json]

The operator commands work on the database directly (no server needed); a running relay
sends what they queue within its poll interval. --account may be left out while the relay
has one account. Target and alert URLs are checked against the rules of the relay that last
started on this database (else this environment's). Lists print their newest rows first; when there are more, they say how to
ask for the next page (--before). A command that cannot do what was asked exits 2.

environment: HOST, PORT, RELAY_DATABASE_URL, RELAY_PUBLIC_URL, RELAY_TARGET_HOSTS,
RELAY_ALERT_HOSTS, RELAY_ALLOW_PRIVATE_TARGETS, RELAY_RETENTION_DAYS (see docs/operating.md)`;


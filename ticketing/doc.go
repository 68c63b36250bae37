// Package ticketing is tocsin's last stage: it files alerts under
// incidents that a responder reads and works through an HTTP API.
//
// # Incidents
//
// An incident gathers the alerts of one rule and one group key while it is
// active (open or acknowledged). The first alert opens it; later ones
// attach to it, raising its severity when theirs is higher and merging
// their entities. An alert ID seen before changes nothing, so a bus may
// deliver a batch twice.
//
// An incident that receives no alert for the quiet period is resolved by
// "auto". That is checked in event time when an alert arrives (replaying
// old logs resolves and reopens incidents as the live run would have) and
// in wall-clock time by Sweep, which the live process calls periodically.
// Either way the incident is resolved at the end of its quiet period.
//
// # Storage
//
// Everything goes through the Store interface; ticketing/sqlite is the
// embedded implementation. The Manager writes one transaction per Handle
// batch and changes its in-memory index of active incidents only after
// the store accepted the write, so a failed write can be retried with the
// same batch. New rebuilds the index from the store, so incidents survive
// a restart.
//
// # Notifications
//
// Webhooks hear about incidents opening and rising in severity. Each
// webhook has a bounded queue and one delivery goroutine: Handle never
// waits on a receiver; a full queue drops the notification and counts it.
//
// # Concurrency
//
// Handle, Sweep and Patch serialise on one mutex; reads go straight to the
// store and run concurrently. HandleFailures only writes to the store.
package ticketing

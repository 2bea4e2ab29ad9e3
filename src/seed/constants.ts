/** The seed peer protocol: ask a peer to fetch a URL from its origin (once) and name the blob. docs/origins.md has the bytes. */
export const TASK_PROTOCOL = '/verity/task/1'

/** Bytes of one message's length prefix: an unsigned 32-bit big-endian count of the JSON bytes after it. */
export const PREFIX_BYTES = 4

/** The largest message a seed reads (a request's URL, filters and headers). @see SeedLimits.maxMessageBytes */
export const MAX_MESSAGE_BYTES = 64 << 10

/** The largest answer a requester reads: a preheat status names every URL of it. */
export const MAX_ANSWER_BYTES = 1 << 20

/** How often a seed tells a waiting requester how far the import is, at most; also its heartbeat. */
export const PROGRESS_EVERY_MS = 1000

export type { ClientStats, CloseOptions, Headers, OpenOptions, RequestPlaneClient, SendOptions, StreamResponse, TransportName } from './interface.js'
export { HttpRequestClient, type HttpClientInit } from './http-client.js'
export { isAvailable } from './stats.js'
export { BufferTooSmall, ClientClosed, NoSeedAvailable, RequestFailed, SeedUnavailable } from './errors.js'

/** Module hooks for loaded-child.ts: every URL resolved is posted to the port it gave. */
import type { MessagePort } from 'node:worker_threads'

let port: MessagePort | undefined

export function initialize (data: { port: MessagePort }): void {
  port = data.port
}

type Next = (specifier: string, context: unknown) => Promise<{ url: string }>

export async function resolve (specifier: string, context: unknown, next: Next): Promise<{ url: string }> {
  const resolved = await next(specifier, context)
  port?.postMessage(resolved.url)
  return resolved
}

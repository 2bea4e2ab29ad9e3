/**
 * Module hooks for loaded-child.ts: every URL resolved is posted to the port it gave, and a
 * package named in `refuse` fails to resolve (as one with no build for this platform would).
 */
import type { MessagePort } from 'node:worker_threads'

let port: MessagePort | undefined
let refuse: string[] = []

export function initialize (data: { port: MessagePort, refuse?: string[] }): void {
  port = data.port
  refuse = data.refuse ?? []
}

type Next = (specifier: string, context: unknown) => Promise<{ url: string }>

export async function resolve (specifier: string, context: unknown, next: Next): Promise<{ url: string }> {
  if (refuse.includes(specifier)) throw new Error(`${specifier} refused by the test's hook`)
  const resolved = await next(specifier, context)
  port?.postMessage(resolved.url)
  return resolved
}

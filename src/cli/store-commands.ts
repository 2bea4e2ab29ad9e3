import { add } from './store-add.js'
import type { CommandContext } from './store-context.js'
import { exportCommand, ls } from './store-read.js'
import { gc, tag } from './store-tags.js'
import { ticket } from './store-ticket.js'
import { verify } from './store-verify.js'

/** The store commands a running `serve` or `send` runs for clients of its control socket. */
export const STORE_COMMANDS: Record<string, (argv: string[], ctx?: CommandContext) => Promise<number>> = {
  add, ls, export: exportCommand, tag, gc, verify, ticket
}

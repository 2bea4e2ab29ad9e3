/**
 * Holds a read loop while its reader is paused: `passed()` resolves at once while the gate is
 * open, and when `open()` is next called while it is held.
 */
export class ReadGate {
  #held: { promise: Promise<void>, open: () => void } | undefined

  hold (): void {
    if (this.#held !== undefined) return
    let open!: () => void
    const promise = new Promise<void>(resolve => { open = resolve })
    this.#held = { promise, open }
  }

  open (): void {
    const held = this.#held
    this.#held = undefined
    held?.open()
  }

  async passed (): Promise<void> {
    while (this.#held !== undefined) await this.#held.promise
  }
}

const NONE: ReadonlySet<never> = new Set()

/**
 * Who holds which piece of one task, both ways: a peer's pieces (what is written to LevelDB) and
 * a piece's holders (what planning reads, so it never walks every peer).
 */
export class Holdings {
  private readonly byPeer = new Map<string, Set<number>>()
  private readonly byPiece = new Map<number, Set<string>>()

  /** Whether the peer did not hold the piece before. */
  add (peer: string, piece: number): boolean {
    let pieces = this.byPeer.get(peer)
    if (pieces === undefined) this.byPeer.set(peer, pieces = new Set())
    if (pieces.has(piece)) return false
    pieces.add(piece)
    let holders = this.byPiece.get(piece)
    if (holders === undefined) this.byPiece.set(piece, holders = new Set())
    holders.add(peer)
    return true
  }

  /** Whether the peer held anything. */
  removePeer (peer: string): boolean {
    const pieces = this.byPeer.get(peer)
    if (pieces === undefined) return false
    for (const piece of pieces) {
      const holders = this.byPiece.get(piece)
      holders?.delete(peer)
      if (holders?.size === 0) this.byPiece.delete(piece)
    }
    this.byPeer.delete(peer)
    return true
  }

  piecesOf (peer: string): ReadonlySet<number> {
    return this.byPeer.get(peer) ?? NONE
  }

  holdersOf (piece: number): ReadonlySet<string> {
    return this.byPiece.get(piece) ?? NONE
  }

  peers (): IterableIterator<string> {
    return this.byPeer.keys()
  }
}

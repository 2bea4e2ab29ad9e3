import type { CollectionEntry } from '../../store/interface.js'

/** A directory of a collection: the directories right under it and the files in it, each sorted by name. */
export interface Directory {
  dirs: string[]
  files: CollectionEntry[]
}

/**
 * A collection's names read once for the gateway: a file by its path, and the directories its
 * paths imply (`a/b/c.txt` makes `a` and `a/b`), each with what is right under it. Built in one
 * pass over the entries and one sort per directory; a name given twice keeps its first file.
 */
export class CollectionIndex {
  private readonly byName = new Map<string, CollectionEntry>()
  private readonly dirs = new Map<string, { dirs: Set<string>, files: CollectionEntry[] }>()

  constructor (readonly entries: readonly CollectionEntry[]) {
    this.dirs.set('', { dirs: new Set(), files: [] })
    for (const entry of entries) {
      if (this.byName.has(entry.name)) continue
      this.byName.set(entry.name, entry)
      const parts = entry.name.split('/')
      let parent = ''
      for (let i = 0; i < parts.length - 1; i++) {
        const path = parent === '' ? parts[i] as string : `${parent}/${parts[i] as string}`
        this.dirOf(parent).dirs.add(parts[i] as string)
        this.dirOf(path)
        parent = path
      }
      this.dirOf(parent).files.push(entry)
    }
    for (const dir of this.dirs.values()) dir.files.sort((a, b) => compare(a.name, b.name))
  }

  /** The file at `path` (`a/b/c.txt`), or undefined. */
  file (path: string): CollectionEntry | undefined {
    return this.byName.get(path)
  }

  /** The directory at `path` (`''` the top, `a/b` one below), or undefined when no name lies under it. */
  directory (path: string): Directory | undefined {
    const dir = this.dirs.get(path)
    if (dir === undefined) return undefined
    return { dirs: [...dir.dirs].sort(compare), files: dir.files }
  }

  private dirOf (path: string): { dirs: Set<string>, files: CollectionEntry[] } {
    let dir = this.dirs.get(path)
    if (dir === undefined) {
      dir = { dirs: new Set(), files: [] }
      this.dirs.set(path, dir)
    }
    return dir
  }
}

/** By code unit: the same order everywhere, whatever the locale. */
function compare (a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

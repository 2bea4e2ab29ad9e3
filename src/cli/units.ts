/** Bytes and seconds as the CLI prints them. */

/** Bytes for people: 1.5 MiB. */
export function size (bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let value = bytes
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit++ }
  return unit === 0 ? `${Math.round(bytes)} B` : `${value.toFixed(1)} ${units[unit] as string}`
}

/** Seconds for people: 42s, 3m5s, 2h10m. */
export function duration (seconds: number): string {
  if (seconds < 60) return `${Math.ceil(seconds)}s`
  const minutes = Math.floor(seconds / 60)
  return minutes < 60 ? `${minutes}m${Math.ceil(seconds % 60)}s` : `${Math.floor(minutes / 60)}h${minutes % 60}m`
}

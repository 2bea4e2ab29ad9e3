/**
 * What `verity --help` prints, kept apart from the commands so that printing it (or running a
 * store command) does not load the network stack.
 */
export const SEND_HELP = `verity send <path...> [--ticket-only] [--copy] [--listen <multiaddr>]... [--limit-rate <rate>] [--serve-all]
  imports files and directories as one collection (in place unless --copy), prints
  "verity get <ticket>" on stdout and serves until Ctrl-C just that collection (its files and
  names), nothing else; --limit-rate caps what it sends (bytes per second: 500k, 20M). Without
  --data-dir (or $VERITY_DIR) it imports into a private store in the temp directory, removed
  when it stops; with one, into that store, with no tag (what it added stays until the next
  verity gc there), and --serve-all serves all of that store. A file sent in place and changed
  meanwhile is named on stderr once (receivers of it get an error)`

export const GET_HELP = `verity get <ticket|hash> [-o <path>|-] [--provider <ticket|multiaddr>]... [--strategy split|none] [--overwrite]
    [--no-tag] [--timeout <duration>] [--min-rate <rate>]
  downloads and verifies (resuming what the data directory holds), then writes the file, the
  collection's files under <path> (default: here), or with -o - a single blob to stdout;
  tags what it fetched so gc keeps it, named after what it writes at the top (the file, or the
  directory a collection's files lie under; otherwise, and with -o -, the hash), never replacing
  a tag that keeps something else (name-2, name-3... instead); --no-tag for none;
  --timeout gives up after that long (90s, 5m), --min-rate drops a provider sending less per
  second over 20 s (default 4k; 0 for no minimum)
verity get <url> --seed <ticket|multiaddr>... [-o <path>] [--filter <param>]... [--task-tag <tag>] [--application <name>]
    [--header 'Name: value']... [--provider <ticket|multiaddr>]...
  has the seed peer fetch the URL from its origin (once, however many ask; --header goes to the
  origin through the seed) and fetches the blob from it, verified and resumable; writes the file
  (named after the URL unless -o) or a directory's files; origin errors exit 1 naming them;
  with several --seed, the one the URL's task id hashes to on their ring, the next if it fails
verity get <url> --scheduler <http://host:8002> [-o <path>] [--filter <param>]... [--task-tag <tag>] [--header 'Name: value']...
    [--linger <duration>] [--listen <multiaddr>]...
  the scheduler has its seed fetch the URL and names the peers to fetch each piece from (the seed,
  or other nodes fetching it now); each piece is verified and reported, then served to the others;
  stays a source for --linger (default 5s) once it has the file, then writes it`

export const SERVE_HELP = `verity serve [--http [host:]port] [--listen <multiaddr>]... [--provider <ticket|multiaddr>]...
  serves the store to peers, and over HTTP (default 127.0.0.1:8080): GET /blob/<hash> (Range,
  ETag), /metrics (Prometheus), /health; with --provider, fetches missing blobs on demand;
  --seed: a seed peer (answers /verity/task/1, and GET /tasks?url=<url>[&filter=a,b][&tag=x]
  fetches a URL once and serves it with Range) for every peer, or --seed-allow <peer id>... only,
  and any http(s) URL at a public address, or --origin-allow <prefix>... only; for others it never
  connects to loopback, private, link-local (169.254.x: cloud metadata), CGNAT, multicast or
  reserved addresses (403, Permission), redirects included, except for URLs under an
  --origin-allow prefix (end the host with /: --origin-allow http://10.0.0.5:8080/)`

export const PREHEAT_HELP = `verity preheat <url...> --seed <ticket|multiaddr> [--filter <param>]... [--task-tag <tag>] [--header 'Name: value']... [--no-wait]
verity preheat --status <id> --seed <ticket|multiaddr>
  has the seed import the URLs in the background; prints the preheat's id, then its state
  (WAITING, RUNNING, SUCCESS, FAILED) until it ends; exit 1 when it FAILED; kept 24 hours`

export const SCHEDULER_HELP = `verity scheduler [--http [host:]port] [--seed <ticket|multiaddr>]... [--peer-expiry <duration>] [--listen <multiaddr>]...
  the scheduler (Dragonfly's SuperNode API, docs/scheduler.md) on HTTP (default 127.0.0.1:8002):
  which peers hold which pieces of which task, piece reports, preheats through a --seed,
  heartbeats (peers silent for --peer-expiry, default 2m, are dropped), /metrics; its state
  under <data dir>/scheduler survives restarts`

export const CAT_HELP = `verity cat <ticket|hash> [--offset <n>] [--length <n>] [--provider <ticket|multiaddr>]...
    [--timeout <duration>] [--min-rate <rate>]
  writes a blob (or bytes offset..offset+length of it) to stdout, verified; fetches only the
  missing chunks of that range first`

export const STORE_HELP = `verity add <path|url...> [--in-place] [--tag <name>] [--filter <param>]... [--header 'Name: value']... [--revalidate]
  adds files (copied unless --in-place) and directories (as collections), tagged; prints "hash  path";
  a URL (file:, http:, https:, a plugin's scheme) is fetched from its origin in ranged pieces, resumed
  after an interruption, and tagged origin:<task id>; --filter leaves a query parameter out of the
  task id, --header is sent to the origin, --revalidate asks it whether a known file changed"
verity ls
  lists the blobs in the store: complete or partial, size, tags
verity export <hash|ticket> <path|-> [--collection] [--overwrite]
  writes a blob to <path> (- for stdout), or a collection's files under <path>
verity tag set <name> <hash|ticket> [--collection] | tag rm <name> | tag ls [prefix]
  tags keep blobs (and collections' files) from gc
verity gc [--dry-run]
  deletes what no tag keeps; prints the hashes deleted (--dry-run: those it would delete, and
  deletes nothing)
verity verify [hash...] [--repair]
  hashes stored bytes again (all blobs by default); --repair drops what is bad so a later fetch
  replaces it; exit 1 when anything was bad
verity ticket <hash> [--collection] [--addr <ip:port>]...
  a ticket for a blob here, naming the addresses of the verity serve running on this data directory
(while a serve or send --data-dir runs on the data directory, add, ls, export, tag, gc, verify and ticket are run by it)`

export const USAGE = `usage: verity <command>

commands:
  ${SEND_HELP.split('\n').join('\n  ')}
  ${GET_HELP.split('\n').join('\n  ')}
  ${SERVE_HELP.split('\n').join('\n  ')}
  ${CAT_HELP.split('\n').join('\n  ')}
  ${PREHEAT_HELP.split('\n').join('\n  ')}
  ${SCHEDULER_HELP.split('\n').join('\n  ')}
  ${STORE_HELP.split('\n').join('\n  ')}
  hash [file...]
    prints the BLAKE3 hash of each file (stdin when none), as "hash  name"
  --version, --help

common options:
  --data-dir <dir>   the store and identity (default: $VERITY_DIR, else $XDG_DATA_HOME/verity,
                     else ~/.local/share/verity)
  --json             NDJSON events on stdout, nothing else there
  -q, --quiet        no messages on stderr, only errors
  --no-progress      no progress line (also when stderr is not a terminal)
  -v, --verbose      more messages`

/**
 * What `verity --help` prints, kept apart from the commands so that printing it (or running a
 * store command) does not load the network stack.
 */
export const SEND_HELP = `verity send <path...> [--ticket-only] [--copy] [--listen <multiaddr>]... [--limit-rate <rate>] [--serve-all]
    [--dht [--bootstrap <multiaddr>]... [--dht-protocol <id>]] [--relay-via <relay multiaddr>|dht]... [--stun <host:port>]...
  imports files and directories as one collection (in place unless --copy), prints
  "verity get <ticket>" on stdout and serves until Ctrl-C just that collection (its files and
  names), nothing else; --limit-rate caps what it sends (bytes per second: 500k, 20M). Without
  --data-dir (or $VERITY_DIR) it imports into a private store in the temp directory, removed
  when it stops; with one, into that store, with no tag (what it added stays until the next
  verity gc there), and --serve-all serves all of that store. A file sent in place and changed
  meanwhile is named on stderr once (receivers of it get an error). Each request a receiver
  makes is one line on stderr when it ends: peer, what, bytes, time, result (--json: events);
  --dht joins the DHT (a server) and announces what it serves, so get <hash> --dht finds it;
  --relay-via reserves a slot on that relay (one a serve offers; repeatable; dht: one the DHT
  finds, waiting up to 30 s) before the ticket is printed, which then holds the relayed address
  beside the direct ones (behind NAT), and its WebRTC address through it, by which receivers
  punch a direct path where the NATs allow, asking the --stun servers (repeatable; a relay's
  serve may answer STUN too) for the public side of the hole`

export const GET_HELP = `verity get <ticket|hash> [-o <path>|-] [--provider <ticket|multiaddr>]... [--strategy split|none] [--overwrite]
    [--no-tag] [--timeout <duration>] [--min-rate <rate>] [--raw|--collection] [--dht --bootstrap <multiaddr>... [--dht-protocol <id>]]
    [--stun <host:port>]...
  downloads and verifies (resuming what the data directory holds), then writes the file, the
  collection's files under <path> (default: here), or with -o - a single blob to stdout; a
  collection's hash writes its files too (--collection says so at once), --raw the bytes of
  its index blob instead;
  tags what it fetched so gc keeps it, named after what it writes at the top (the file, or the
  directory a collection's files lie under; otherwise, and with -o -, the hash), never replacing
  a tag that keeps something else (name-2, name-3... instead); --no-tag for none;
  says whom it connects to and each retry (-v: each provider's bytes and rate on the progress
  line, and the libraries' own text of a failure); --timeout gives up after that long (90s, 5m),
  connecting included, naming the addresses tried; --min-rate drops a provider sending less per
  second over 20 s (default 4k; 0 for no minimum); checks it can write <path> first;
  --dht finds providers of the hash in the DHT (/verity/kad/1.0.0 unless --dht-protocol), joined
  through --bootstrap peers (repeatable; or $VERITY_BOOTSTRAP, comma separated), no ticket needed,
  and tries each as it is found, beside a ticket's and --provider's; a sender behind NAT is
  reached directly by WebRTC where the NATs allow (--stun servers, repeatable, tell the public
  side of the hole; the sender names its own), through its relay otherwise
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

export const SERVE_HELP = `verity serve [--http [host:]port] [--listen <multiaddr>]... [--provider <ticket|multiaddr>]... [--timeout <duration>]
    [--access-log <file>] [--seed [--seed-allow <peer id>]... [--origin-allow <prefix>]...]
    [--dht [--bootstrap <multiaddr>]... [--dht-protocol <id>] [--announce all|tagged|none]]
    [--relay [--relay-max-reservations <n>] [--relay-max-bytes <size>] [--relay-max-duration <duration>]] [--relay-via <relay multiaddr>|dht]...
    [--stun-server [ip:]port] [--stun <host:port>]...
  serves the store to peers, and over HTTP (default 127.0.0.1:8080): GET /blob/<hash> (Range,
  ETag, ?download), /blob/<collection hash>/ (its files, to browse), /metrics (Prometheus),
  /health; with --provider, fetches missing blobs on demand
  (connecting to each at the start, each within --timeout; saying whom it connects to, each
  retry and failure, as get does); logs each HTTP request in the
  Common Log Format to stderr, or appended to --access-log <file>; -v: one line per request
  peers make (peer, what, bytes, time, result; --json: events);
  --seed: a seed peer (answers /verity/task/1, and GET /tasks?url=<url>[&filter=a,b][&tag=x]
  fetches a URL once and serves it with Range) for every peer, or --seed-allow <peer id>... only,
  and any http(s) URL at a public address, or --origin-allow <prefix>... only; for others it never
  connects to loopback, private, link-local (169.254.x: cloud metadata), CGNAT, multicast or
  reserved addresses (403, Permission), redirects included, except for URLs under an
  --origin-allow prefix (end the host with /: --origin-allow http://10.0.0.5:8080/);
  --dht: a DHT server (/verity/kad/1.0.0 unless --dht-protocol) joined through --bootstrap peers
  ($VERITY_BOOTSTRAP; none: the first node, others join through it), announcing every complete
  blob (--announce tagged: those tags keep; none), again before records expire, and no longer
  once deleted; -v says each announcement (--json: events);
  --relay: a circuit relay for nodes behind NAT, at most --relay-max-reservations slots (15), each
  relayed connection cut after --relay-max-bytes (128M) or --relay-max-duration (5m);
  --relay-via: reserve a slot on that relay (dht: on one the DHT finds, with --dht), so peers
  reach this node through it, directly by WebRTC where the NATs allow (--stun: STUN servers to
  ask; repeatable); --stun-server answers STUN on that UDP address (3478 is the usual port; give
  the address peers reach on a machine with several) for nodes behind NAT (docs/reachability.md)`

export const PREHEAT_HELP = `verity preheat <url...> --seed <ticket|multiaddr> [--filter <param>]... [--task-tag <tag>] [--application <name>]
    [--header 'Name: value']... [--no-wait]
verity preheat --status <id> --seed <ticket|multiaddr>
  has the seed import the URLs in the background; prints the preheat's id, then its state
  (WAITING, RUNNING, SUCCESS, FAILED) until it ends; exit 1 when it FAILED; kept 24 hours`

export const SCHEDULER_HELP = `verity scheduler [--http [host:]port] [--seed <ticket|multiaddr>]... [--peer-expiry <duration>] [--listen <multiaddr>]...
  the scheduler (Dragonfly's SuperNode API, docs/scheduler.md) on HTTP (default 127.0.0.1:8002):
  which peers hold which pieces of which task, piece reports, preheats through a --seed,
  heartbeats (peers silent for --peer-expiry, default 2m, are dropped), /metrics; its state
  under <data dir>/scheduler survives restarts`

export const CAT_HELP = `verity cat <ticket|hash> [--offset <n>] [--length <n>] [--provider <ticket|multiaddr>]... [--strategy split|none]
    [--timeout <duration>] [--min-rate <rate>] [--stun <host:port>]...
  writes a blob (or bytes offset..offset+length of it) to stdout, verified; fetches only the
  missing chunks of that range first (from a sender behind NAT as get does)`

export const ADD_HELP = `verity add <path|url...> [--in-place] [--tag <name>] [--filter <param>]... [--header 'Name: value']... [--revalidate]
  adds files (copied unless --in-place) and directories (as collections), tagged; prints "hash  path";
  a URL (file:, http:, https:, a plugin's scheme) is fetched from its origin in ranged pieces, resumed
  after an interruption, and tagged origin:<task id>; --filter leaves a query parameter out of the
  task id, --header is sent to the origin, --revalidate asks it whether a known file changed`

export const LS_HELP = `verity ls
  lists the blobs in the store: complete or partial, size, tags; while a serve or send joined to
  the DHT runs on the data directory, whether each is announced there (announced, announce pending)`

export const EXPORT_HELP = `verity export <hash|ticket> <path|-> [--collection] [--overwrite]
  writes a blob to <path> (- for stdout), or a collection's files under <path>`

export const TAG_HELP = `verity tag set <name> <hash|ticket> [--collection] | tag rm <name> | tag ls [prefix]
  tags keep blobs (and collections' files) from gc`

export const GC_HELP = `verity gc [--dry-run]
  deletes what no tag keeps; prints the hashes deleted (--dry-run: those it would delete, and
  deletes nothing)`

export const VERIFY_HELP = `verity verify [hash...] [--repair]
  hashes stored bytes again (all blobs by default); --repair drops what is bad so a later fetch
  replaces it; exit 1 when anything was bad`

export const TICKET_HELP = `verity ticket <hash> [--collection] [--addr <ip:port>]...
  a ticket for a blob here, naming the addresses of the verity serve running on this data directory`

export const HASH_HELP = `verity hash [file...]
  prints the BLAKE3 hash of each file (stdin when none), as "hash  name"`

export const HELP_HELP = `verity help [command]
  this list, or one command's usage (as verity <command> --help)`

/** While a serve or send holds a data directory, these run inside it (control.ts). */
const HELD = '(while a serve or send --data-dir runs on the data directory, add, ls, export, tag, gc, verify and ticket are run by it)'

/** Every command, with its usage: `verity <command> --help` prints its entry. */
export const COMMAND_HELP: Record<string, string> = {
  send: SEND_HELP,
  get: GET_HELP,
  serve: SERVE_HELP,
  cat: CAT_HELP,
  preheat: PREHEAT_HELP,
  scheduler: SCHEDULER_HELP,
  add: ADD_HELP,
  ls: LS_HELP,
  export: EXPORT_HELP,
  tag: TAG_HELP,
  gc: GC_HELP,
  verify: VERIFY_HELP,
  ticket: TICKET_HELP,
  hash: HASH_HELP,
  help: HELP_HELP
}

export const COMMON_HELP = `common options (before or after the command):
  --data-dir <dir>   the store and identity (default: $VERITY_DIR, else $XDG_DATA_HOME/verity,
                     else ~/.local/share/verity); add, get, send, serve, scheduler and a
                     cat that fetches create it, other commands need it to exist
  --json             NDJSON events on stdout, nothing else there
  -q, --quiet        no messages on stderr, only errors
  --no-progress      no progress line (also when stderr is not a terminal)
  -v, --verbose      more messages (and the libraries' own text behind an error)
  -h, --help         this command's usage
environment:
  $VERITY_HEAP_GROWING_PERCENT  how far V8's heap may grow past what a full collection left
                     live, in percent (default 200; 0: V8's own choice, which in a long serve
                     or get can collect again and again while data streams)`

/** What `verity <command> --help` prints: its usage, then the options every command takes. */
export function commandHelp (command: string): string {
  const held = ['add', 'ls', 'export', 'tag', 'gc', 'verify', 'ticket'].includes(command) ? `\n${HELD}` : ''
  return `usage: ${COMMAND_HELP[command] as string}${held}\n\n${COMMON_HELP}`
}

const indent = (text: string): string => `  ${text.split('\n').join('\n  ')}`

export const USAGE = `usage: verity <command> [options]   (verity <command> --help: one command's usage)

commands:
${Object.values(COMMAND_HELP).map(indent).join('\n')}
  ${HELD}
  verity --version, verity --help

${COMMON_HELP}`

// The Downloader: one blob striped across two providers at once (strategy 'split'), verified as
// it arrives; each provider's share, and progress as typed events with a total.
//
//   node examples/downloader.mjs
import { createNode } from 'verity-blobs'

const first = await createNode()
const second = await createNode()
const fetcher = await createNode()
try {
  const data = new Uint8Array(32 << 20).map((_, i) => (i * 2246822519) >>> 24)
  const { hash } = await first.blobs.addBytes(data)
  await second.blobs.addBytes(data) // the same bytes: the same hash

  const download = fetcher.downloader.download({
    request: hash,
    providers: [first.ticket(hash), second.ticket(hash).toString()], // a BlobTicket or its text
    strategy: 'split'
  })
  let reported = 0
  for await (const event of download) {
    if (event.type === 'download:progress' && event.detail.total !== undefined && event.detail.bytes - reported >= 8 << 20) {
      reported = event.detail.bytes
      console.log(`${(event.detail.bytes / 2 ** 20).toFixed(1)} of ${(event.detail.total / 2 ** 20).toFixed(1)} MiB verified`)
    } else if (event.type === 'download:provider-failed') {
      console.log(`provider ${event.detail.provider} failed: ${event.detail.error.message}`)
    }
  }
  const result = await download
  console.log(`downloaded ${result.bytes} bytes, ${result.bytesReceived} received`)
  for (const [peer, report] of Object.entries(result.providers)) {
    console.log(`  ${peer.slice(-8)}: ${report.bytes} bytes in ${report.requests} requests (${Math.round(100 * report.bytes / result.bytes)}%)`)
  }
} finally {
  await fetcher.stop()
  await second.stop()
  await first.stop()
}

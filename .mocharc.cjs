// mocha's settings for `npm test`.
// Two test files at a time, each in a worker process of its own: most of the suite waits on
// child processes, sockets and timers (serially it used about one core of this machine's two),
// so two at a time takes the suite from 17 to 10 minutes here, every test passing (the sum of the
// tests' own times grew 15%). A file's tests still run in order; files share nothing but the
// machine (temp directories, ports chosen by the system).
// One file alone: npx mocha --no-config --timeout 60000 dist/test/<path>.test.js
module.exports = {
  spec: ['dist/test/**/*.test.js'],
  timeout: 60000,
  reporter: 'spec',
  parallel: true,
  jobs: 2
}

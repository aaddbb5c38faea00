// `maif cat` into a shell pipe or a file writes from the thread pool through a blocking descriptor of its own
// (block-output.ts, stdoutFd): what comes out must be exactly the records, in order, whatever the reader's pace;
// `| head` still ends cat with 0; `>>` and output already in the file keep their place.
import t from 'tap'
import { spawn, spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { setTimeout as delay } from 'node:timers/promises'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { CLI, maif } from './helpers/cli.js'

/** Runs a bash pipeline; `$MAIF` is the CLI. */
function sh(script: string, cwd: string): { code: number; stdout: string; stderr: string } {
  const r = spawnSync('bash', ['-c', script], { cwd, env: { ...process.env, MAIF: `${process.execPath} ${CLI}` }, encoding: 'utf8' })
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr }
}

t.test('cat into pipes and files', async (t) => {
  const dir = t.testdir()
  // About 6 MiB of records, so that blocks of 1 MiB go through several writes each into a 64 KiB pipe.
  const lines = Array.from({ length: 40_000 }, (_, i) => JSON.stringify({ i, text: `record ${i} `.repeat(1 + (i % 29)) }))
  const input = lines.join('\n') + '\n'
  writeFileSync(join(dir, 'in.jsonl'), input)
  t.equal((await maif(['keygen', '--out', join(dir, 'keys')])).code, 0)
  const packed = await maif(['pack', join(dir, 'in.jsonl'), '-o', join(dir, 'c.maif'), '--keyring', join(dir, 'keys')])
  t.equal(packed.code, 0, packed.stderr)
  const cat = '$MAIF cat c.maif --keyring keys --jsonl'

  t.test('through a pipe, to a fast and to a slow reader', async (t) => {
    const fast = sh(`${cat} | cat > fast.jsonl; echo "\${PIPESTATUS[0]}" > fast.code`, dir)
    t.equal(fast.stderr, '')
    t.equal(readFileSync(join(dir, 'fast.code'), 'utf8').trim(), '0')
    t.ok(readFileSync(join(dir, 'fast.jsonl'), 'utf8') === input, 'the records, byte for byte, in order')
    // The reader starts late and reads in small pieces: every write waits for room in the pipe.
    const slow = sh(`${cat} | (sleep 0.5; dd bs=4096 status=none) > slow.jsonl; echo "\${PIPESTATUS[0]}" > slow.code`, dir)
    t.equal(slow.stderr, '')
    t.equal(readFileSync(join(dir, 'slow.code'), 'utf8').trim(), '0')
    t.ok(readFileSync(join(dir, 'slow.jsonl'), 'utf8') === input, 'the same bytes to a slow reader')
  })

  t.test('a reader that stops early ends cat with 0 and no error', async (t) => {
    const r = sh(`${cat} | head -c 100000 > head.out; echo "\${PIPESTATUS[0]}" > head.code`, dir)
    t.equal(r.stderr, '', 'nothing on stderr')
    t.equal(readFileSync(join(dir, 'head.code'), 'utf8').trim(), '0', 'cat exits 0')
    t.ok(readFileSync(join(dir, 'head.out'), 'utf8') === input.slice(0, 100000), 'the first bytes of the records')
  })

  t.test('into a file: > writes from the start, >> after what is there', async (t) => {
    t.equal(sh(`${cat} > new.jsonl`, dir).code, 0)
    t.ok(readFileSync(join(dir, 'new.jsonl'), 'utf8') === input, '> holds exactly the records')
    writeFileSync(join(dir, 'log.jsonl'), '{"first":true}\n')
    t.equal(sh(`${cat} >> log.jsonl && echo '{"last":true}' >> log.jsonl`, dir).code, 0)
    t.ok(readFileSync(join(dir, 'log.jsonl'), 'utf8') === '{"first":true}\n' + input + '{"last":true}\n', '>> keeps what was there, and what follows')
    // Output the shell wrote first, on the same descriptor, keeps its place too.
    t.equal(sh(`{ echo '{"header":1}'; ${cat}; echo '{"footer":1}'; } > grouped.jsonl`, dir).code, 0)
    t.ok(readFileSync(join(dir, 'grouped.jsonl'), 'utf8') === '{"header":1}\n' + input + '{"footer":1}\n', 'shared descriptor: in order')
  })

  t.test('a socket (a parent reading through spawn\'s pipe) gets the same bytes', async (t) => {
    const r = await maif(['cat', join(dir, 'c.maif'), '--keyring', join(dir, 'keys'), '--jsonl'])
    t.equal(r.code, 0)
    t.ok(r.stdout === input)
  })

  t.test('a socket read slowly, and a socket closed early', async (t) => {
    const args = [CLI, 'cat', join(dir, 'c.maif'), '--keyring', join(dir, 'keys'), '--jsonl']
    // The parent reads nothing for half a second, then a piece at a time: cat's blocking writes wait for it.
    const slow = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    slow.stdout.pause()
    let err = ''
    slow.stderr.on('data', (d: Buffer) => { err += d.toString() })
    const closed = new Promise<number | null>((res) => slow.on('close', res))
    await delay(500)
    const got: Buffer[] = []
    for await (const chunk of slow.stdout) {
      got.push(chunk as Buffer)
      await delay(1)
    }
    t.equal(await closed, 0, err)
    t.ok(Buffer.concat(got).toString() === input, 'the records, byte for byte, in order')
    // The parent stops reading after 100,000 bytes: cat ends with 0 and nothing on stderr, as with `| head`.
    const early = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    let err2 = ''
    early.stderr.on('data', (d: Buffer) => { err2 += d.toString() })
    const closed2 = new Promise<number | null>((res) => early.on('close', res))
    let n = 0
    for await (const chunk of early.stdout) {
      n += (chunk as Buffer).length
      if (n >= 100_000) break // destroys our end of the socket
    }
    t.equal(await closed2, 0)
    t.equal(err2, '')
  })
})

t.test('a socket on stdout is written blocking while cat writes, and set back after', async (t) => {
  const module = fileURLToPath(new URL('../dist/cli/block-output.js', import.meta.url))
  // O_NONBLOCK (04000) in the flags /proc shows for fd 1, which is the socket spawn made.
  const script = `
    import { readFileSync } from 'node:fs'
    import { stdoutFd } from ${JSON.stringify(module)}
    const nonblocking = () => (parseInt(/flags:\\s+(\\d+)/.exec(readFileSync('/proc/self/fdinfo/1', 'utf8'))[1], 8) & 0o4000) !== 0
    process.stdout.write('')
    const before = nonblocking()
    const d = stdoutFd()
    const during = nonblocking()
    d.close()
    process.stderr.write(JSON.stringify({ fd: d.fd, before, during, after: nonblocking() }))
  `
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' })
  t.equal(r.status, 0, r.stderr)
  t.strictSame(JSON.parse(r.stderr), { fd: 1, before: true, during: false, after: true }, 'Node\'s non-blocking socket, blocking for cat, then as it was')
})

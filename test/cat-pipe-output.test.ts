// `maif cat` into a shell pipe or a file writes from the thread pool through a blocking descriptor of its own
// (block-output.ts, stdoutFd): what comes out must be exactly the records, in order, whatever the reader's pace;
// `| head` still ends cat with 0; `>>` and output already in the file keep their place.
import t from 'tap'
import { spawnSync } from 'node:child_process'
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
})

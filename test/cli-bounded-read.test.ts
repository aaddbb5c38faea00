// Reading is bounded: a box larger than the writer's segment size (4 MiB + 64 KiB of room for metadata) is refused
// unless the reader opts in (--max-box), a block that declares a larger plaintext is refused the same way, and
// decompression and decryption stream with an output cap, so verify --keyring holds about one box and cat about one
// box plus its plaintext (they used about three times a block's size). Real child processes throughout.
import t from 'tap'
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { createWriteStream, statSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { maif } from './helpers/cli.js'

const DIST = fileURLToPath(new URL('../dist/index.js', import.meta.url))
const MiB = 1 << 20

/**
 * Writes a container with one binary object of `bytes` bytes (random or zeros) as one segment, in a child process:
 * a child's max RSS starts from its parent's at fork, so the test process itself must stay small.
 */
async function makeContainer(path: string, keys: string, o: { bytes: number; fill: 'random' | 'zeros'; codec: string; segment: number }): Promise<void> {
  const script = `
    import { randomFillSync } from 'node:crypto'
    import { loadKeyring, writeContainer } from ${JSON.stringify(DIST)}
    const [path, keys, o] = JSON.parse(process.argv[1])
    const kr = await loadKeyring(keys)
    const data = Buffer.alloc(o.bytes)
    if (o.fill === 'random') for (let i = 0; i < data.length; i += 1 << 16) randomFillSync(data, i, Math.min(1 << 16, data.length - i))
    await writeContainer(path, [{ data, name: 'blob' }], { keyProvider: kr, signer: kr.signer, codec: o.codec, framer: { mode: 'binary', segmentBytes: o.segment }, fsync: 'never' })
  `
  const child = spawn(process.execPath, ['--input-type=module', '-e', script, JSON.stringify([path, keys, o])], { stdio: ['ignore', 'inherit', 'inherit'] })
  const code = await new Promise((res) => child.on('close', res))
  if (code !== 0) throw new Error(`the fixture writer exited ${String(code)}`)
}

t.test('a box larger than the segment size is refused unless the reader opts in', async (t) => {
  const dir = t.testdir()
  const keys = join(dir, 'k')
  t.equal((await maif(['keygen', '--out', keys])).code, 0)
  const big = join(dir, 'big.maif')
  await makeContainer(big, keys, { bytes: 6 * MiB, fill: 'random', codec: 'zstd', segment: 8 * MiB })
  const info = JSON.parse((await maif(['inspect', big, '--json'])).stdout) as { blocks: Array<{ seq: number; size: number }> }
  t.ok(info.blocks[0]!.size > 6 * MiB, `precondition: one box of ${info.blocks[0]!.size} bytes`)
  const seq = String(info.blocks[0]!.seq)
  const pub = join(keys, 'maif.pub')
  const readers: Array<[string, string[]]> = [
    ['verify --keyring', ['verify', big, '--keyring', keys, '--json']],
    ['verify --pub (key-less, parallel)', ['verify', big, '--pub', pub, '--json']],
    ['cat', ['cat', big, '--keyring', keys]],
    ['cat --seq', ['cat', big, '--keyring', keys, '--seq', seq]],
  ]
  for (const [name, args] of readers) {
    const r = await maif(args)
    t.equal(r.code, 1, `${name}: refused`)
    t.match(r.stdout + r.stderr, /MAIF_ERR_BOX_TOO_LARGE/, `${name}: MAIF_ERR_BOX_TOO_LARGE`)
    t.match(r.stdout + r.stderr, /--max-box/, `${name}: the error names the opt-in`)
    if (name.startsWith('cat')) t.equal(r.stdout, '', `${name}: nothing printed`)
    const ok = await maif([...args, '--max-box', '8M'], { stdoutFile: createWriteStream(join(dir, 'out.bin')) })
    t.equal(ok.code, 0, `${name} --max-box 8M: read (${ok.stderr})`)
    if (name.startsWith('cat')) t.equal(statSync(join(dir, 'out.bin')).size, 6 * MiB, `${name} --max-box 8M: every byte`)
  }
  const bad = await maif(['verify', big, '--max-box', 'huge'])
  t.equal(bad.code, 2, 'a malformed --max-box is a usage error')

  // A segment of exactly 4 MiB (the writer's default) is read without opting in.
  const seg = join(dir, 'seg.maif')
  await makeContainer(seg, keys, { bytes: 4 * MiB + 100, fill: 'random', codec: 'zstd', segment: 4 * MiB })
  t.equal((await maif(['verify', seg, '--keyring', keys])).code, 0, 'default segments need no opt-in')
  t.equal((await maif(['cat', seg, '--keyring', keys], { stdoutFile: createWriteStream(join(dir, 'seg.bin')) })).code, 0)
  t.equal(statSync(join(dir, 'seg.bin')).size, 4 * MiB + 100)
})

t.test('a small box that declares a huge plaintext: refused by default, and never materialised by verify', async (t) => {
  const dir = t.testdir()
  const keys = join(dir, 'k')
  await maif(['keygen', '--out', keys])
  const z = join(dir, 'zeros.maif')
  await makeContainer(z, keys, { bytes: 160 * MiB, fill: 'zeros', codec: 'zstd', segment: 256 * MiB })
  t.ok(statSync(z).size < MiB, `precondition: a small file (${statSync(z).size} bytes) holding 160 MiB`)
  const dflt = await maif(['verify', z, '--keyring', keys, '--json'])
  t.equal(dflt.code, 1)
  t.equal((JSON.parse(dflt.stdout) as { errors: Array<{ code: string }> }).errors[0]?.code, 'MAIF_ERR_BOX_TOO_LARGE', 'the declared plaintext is over the limit')
  const base = await maif(['verify', join(dir, 'zeros.maif'), '--pub', join(keys, 'maif.pub'), '--max-box', '256M'])
  t.equal(base.code, 0)
  const r = await maif(['verify', z, '--keyring', keys, '--max-box', '256M'])
  t.equal(r.code, 0, r.stderr)
  const grew = (r.maxRssKiB ?? Infinity) - (base.maxRssKiB ?? 0)
  t.ok(grew < 40 * 1024, `verify --keyring decompresses 160 MiB in a stream (max RSS ${r.maxRssKiB} KiB, ${grew} KiB over key-less verify)`)
})

t.test('memory: verify --keyring holds about one box, cat about one box and its plaintext', async (t) => {
  const dir = t.testdir()
  const keys = join(dir, 'k')
  await maif(['keygen', '--out', keys])
  // Large enough that the garbage of one block's decryption slices is small next to the block (V8 collects
  // external memory in steps of tens of MiB), so the figures show how the memory grows with the block.
  const block = 96 * MiB
  const c = join(dir, 'c.maif')
  await makeContainer(c, keys, { bytes: block, fill: 'random', codec: 'zstd', segment: 128 * MiB })
  const small = join(dir, 'small.maif')
  await makeContainer(small, keys, { bytes: 1000, fill: 'random', codec: 'zstd', segment: 128 * MiB })
  const out = (name: string): NodeJS.WritableStream => createWriteStream(join(dir, name))
  const baseVerify = await maif(['verify', small, '--keyring', keys, '--max-box', '128M'])
  const v = await maif(['verify', c, '--keyring', keys, '--max-box', '128M'])
  t.equal(v.code, 0, v.stderr)
  const vGrew = ((v.maxRssKiB ?? Infinity) - (baseVerify.maxRssKiB ?? 0)) * 1024
  // Each decrypted slice is reported dead as soon as it is fed to the decompressor: 1.25× on Node 20 and 24. Reported
  // once per block, the slices of this one block piled up: 1.56× on Node 20, 2.06–2.18× on Node 24.
  t.ok(vGrew < 1.5 * block, `verify --keyring: ${(vGrew / block).toFixed(2)}× the block over a tiny container (at most 1.5×; it was 3.15× before the bound)`)
  const baseCat = await maif(['cat', small, '--keyring', keys, '--max-box', '128M'], { stdoutFile: out('small.bin') })
  const cat = await maif(['cat', c, '--keyring', keys, '--max-box', '128M'], { stdoutFile: out('c.bin') })
  t.equal(cat.code, 0, cat.stderr)
  t.equal(statSync(join(dir, 'c.bin')).size, block)
  const cGrew = ((cat.maxRssKiB ?? Infinity) - (baseCat.maxRssKiB ?? 0)) * 1024
  // The box and its plaintext, and the decrypted slices while they die: 2.1× on Node 20 and 24 (with one report
  // per block: 2.38× on Node 20, 2.74–2.86× on Node 24).
  t.ok(cGrew < 2.4 * block, `cat: ${(cGrew / block).toFixed(2)}× the block over a tiny container (at most 2.4×; it was 3.15× before the bound)`)
})

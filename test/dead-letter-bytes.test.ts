// Dead letters keep a record's exact bytes: text when they are valid UTF-8, else base64 with an encoding
// marker (a lossy U+FFFD rendering used to replace them). Both a line the source rejects and a record a
// transform rejects are covered, and their file and line are recorded.
import '../src/builtins.js'
import t from 'tap'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { runPipeline } from '../src/core/runtime/engine.js'
import { readDeadLetters } from './helpers/engine.js'

t.test('invalid UTF-8 is kept byte for byte, valid text as text', async (t) => {
  const dir = t.testdir()
  const bad = Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0xff, 0xfe, 0x7d]) // {"a":<ff><fe>} — neither UTF-8 nor JSON
  const text = Buffer.from('{"id": 2, "note": "héllo"') // valid UTF-8, not JSON
  const lines = [Buffer.from('{"id":1}'), bad, text, Buffer.from('{"id":"x"}'), Buffer.from('{"id":4}')]
  const input = join(dir, 'in.jsonl')
  writeFileSync(input, Buffer.concat(lines.flatMap((l) => [l, Buffer.from('\n')])))
  const dl = join(dir, 'dl.jsonl')
  const r = await runPipeline({
    source: { type: 'file', path: input, format: 'jsonl' },
    transforms: [{ type: 'validate-json', schema: { type: 'object', properties: { id: { type: 'integer' } } } }],
    sink: { type: 'file', path: join(dir, 'out.jsonl') },
    deadLetter: { type: 'file', path: dl },
  }, { cwd: dir })
  t.equal(r.reconciled, true)
  t.equal(r.deadLetters, 3)
  const got = readDeadLetters(dl)
  const bytes = (d: (typeof got)[number]): Buffer => (d.encoding === 'base64' ? Buffer.from(d.rawBase64!, 'base64') : Buffer.from(d.raw!, 'utf8'))
  const byLine = new Map(got.map((d) => [d.source?.line, d]))
  t.equal(byLine.get(2)?.encoding, 'base64', 'invalid UTF-8 is marked base64')
  t.ok(bytes(byLine.get(2)!).equals(bad), 'its bytes are exact')
  t.equal(byLine.get(3)?.raw, text.toString('utf8'), 'valid UTF-8 stays text')
  t.equal(byLine.get(4)?.stage, 'validate-json', 'a transform reject is located too')
  t.equal(byLine.get(4)?.source?.file, input)
  t.ok(bytes(byLine.get(4)!).equals(lines[3]!))
})

// `maif run` with a stdin source: records piped in come out in the sink, bad lines in the dead letters.
import t from 'tap'
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { readFileSync, writeFileSync } from 'node:fs'
import { CLI } from './helpers/cli.js'

t.test('a pipeline reads its records from stdin', async (t) => {
  const dir = t.testdir()
  const out = join(dir, 'out.jsonl')
  const dl = join(dir, 'dead.jsonl')
  const def = join(dir, 'stdin.yaml')
  writeFileSync(def, `name: from-stdin\nsource: { type: stdin, format: jsonl }\nsink: { type: file, path: ${out} }\ndeadLetter: { type: file, path: ${dl} }\n`)
  const input = ['{"a":1}', 'not json', '{"b":2}', '', '{"c":3}'].join('\n') + '\n'
  const child = spawn(process.execPath, [CLI, 'run', def, '--json', '--no-progress', '--log-level', 'warn'], { stdio: ['pipe', 'pipe', 'pipe'] })
  let stdout = ''
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
  child.stdin.end(input)
  const code = await new Promise<number | null>((res) => child.on('close', res))
  t.equal(code, 0)
  const report = JSON.parse(stdout) as { recordsIn: number; delivered: number; deadLetters: number; reconciled: boolean }
  t.same({ in: report.recordsIn, ok: report.delivered, dead: report.deadLetters, reconciled: report.reconciled }, { in: 5, ok: 3, dead: 2, reconciled: true })
  t.equal(readFileSync(out, 'utf8'), '{"a":1}\n{"b":2}\n{"c":3}\n')
  const dead = readFileSync(dl, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { raw: string; source: { file: string; line: number } })
  t.same(dead.map((d) => [d.source.file, d.source.line, d.raw]), [['-', 2, 'not json'], ['-', 4, '']])
})

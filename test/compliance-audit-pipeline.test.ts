// pipelines/compliance-audit.yaml end to end: agent events into a signed container with its audit trail, and
// at once to CloudWatch Logs (moto), Elasticsearch and Splunk HEC (loopback servers). Every record and audit
// event reaches every output exactly once; the container and its audit trail verify.
import '../src/builtins.js'
import t from 'tap'
import { join } from 'node:path'
import { CloudWatchLogsClient, GetLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs'
import { loadPipelineFile } from '../src/core/runtime/pipeline-def.js'
import { runPipeline } from '../src/core/runtime/engine.js'
import { verifyAuditChain, type AuditEvent } from '../src/core/audit/events.js'
import { startMoto } from './helpers/moto.js'
import { startElasticsearch } from './helpers/elasticsearch-server.js'
import { startSplunkHec } from './helpers/splunk-hec-server.js'
import { freshKeyring, readContainer, readDeadLetters, repoPath } from './helpers/engine.js'
import { maif } from './helpers/cli.js'

t.test('fan-out to a container and three SIEMs (CloudWatch on moto; loopback Elasticsearch and Splunk HEC servers)', async (t) => {
  const moto = await startMoto(t)
  const es = await startElasticsearch({ authorization: 'ApiKey test-api-key' })
  t.teardown(es.close)
  const hec = await startSplunkHec({ acks: true })
  t.teardown(hec.close)
  const dir = t.testdir()
  const keys = await freshKeyring(dir)
  const out = join(dir, 'audit.maif')
  Object.assign(process.env, moto.env, {
    MAIF_IN: repoPath('samples/agent-logs.jsonl'), MAIF_KEYRING: keys.dir, MAIF_OUT: out,
    ES_URL: es.url, ES_API_KEY: 'test-api-key', SPLUNK_HEC_URL: hec.url, SPLUNK_HEC_TOKEN: hec.token,
  })
  const lint = await maif(['lint', repoPath('pipelines/compliance-audit.yaml')], { env: { ES_URL: es.url, ES_API_KEY: 'k', SPLUNK_HEC_URL: hec.url, SPLUNK_HEC_TOKEN: 't' } })
  t.equal(lint.code, 0, lint.stdout + lint.stderr)
  const loaded = await loadPipelineFile(repoPath('pipelines/compliance-audit.yaml'), {})
  const report = await runPipeline(loaded.definition, { cwd: dir })
  t.equal(report.reconciled, true)
  const dead = readDeadLetters(`${out}.dead-letter.jsonl`)
  t.equal(dead.length, report.deadLetters)
  t.equal(report.delivered, report.recordsIn - report.deadLetters)
  const expected = report.delivered + report.emitted
  t.strictSame(report.outputs.map((o) => [o.type, o.records, o.deadLetters]), [['container', expected, 0], ['cloudwatch-logs', expected, 0], ['elasticsearch', expected, 0], ['splunk-hec', expected, 0]], 'records and audit events settled in every output')

  const back = await readContainer(out, keys.keyring)
  t.equal(back.result.ok, true)
  const all = back.blocks.filter((b) => b.type === 'AUDT').flatMap((b) => b.data.toString('utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as AuditEvent))
  t.equal(verifyAuditChain(all).ok, true)
  // The container sink adds its own session events (key use, creation) to the container only; the rest are the stage's.
  t.strictSame(all.filter((e) => e.event.action === 'key.use' || e.event.action.startsWith('container.')).map((e) => e.event.action), ['key.use', 'container.create'])
  const audit = all.filter((e) => e.event.action !== 'key.use' && !e.event.action.startsWith('container.'))
  t.equal(audit.length, report.emitted)
  const a = await maif(['audit', out, '--keyring', keys.dir])
  t.equal(a.code, 0, a.stdout + a.stderr)

  const logs = new CloudWatchLogsClient(moto.clientConfig)
  t.teardown(() => logs.destroy())
  const cw: string[] = []
  let token: string | undefined
  for (;;) {
    const r = await logs.send(new GetLogEventsCommand({ logGroupName: '/maif/compliance-audit', logStreamName: 'agent-events', startFromHead: true, ...(token ? { nextToken: token } : {}) }))
    cw.push(...(r.events ?? []).map((e) => e.message!))
    if ((r.events ?? []).length === 0 || r.nextForwardToken === token) break
    token = r.nextForwardToken
  }
  t.equal(cw.length, expected, 'CloudWatch Logs: every record and audit event')
  t.equal(new Set(cw).size, cw.length, 'CloudWatch Logs: none twice')
  t.equal(es.docs('maif-agent-events').length, expected, 'Elasticsearch: every one')
  t.equal(hec.events.length, expected, 'Splunk: every one')
  const hecAudit = hec.events.filter((e) => (e.event as { event?: { dataset?: string } }).event?.dataset === 'maif.audit')
  t.equal(hecAudit.length, audit.length, 'the audit events reached the SIEM too')
})

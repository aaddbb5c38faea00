import t from 'tap'
import { awsClientConfig, awsOptionsSchema, endpointOverride } from '../src/core/aws/config.js'

t.test('only what the user set is passed; the SDK resolves the rest', async (t) => {
  t.same(awsClientConfig('KMS', {}, {}), {})
  t.same(awsClientConfig('KMS', { region: 'eu-west-1' }, {}), { region: 'eu-west-1' })
  t.same(awsClientConfig('S3', {}, {}), {}, 'no override: virtual-hosted style, as on AWS')
})

t.test('S3 behind an endpoint override is path-style unless forcePathStyle: false', async (t) => {
  t.same(awsClientConfig('S3', { endpoint: 'http://127.0.0.1:9' }, {}), { endpoint: 'http://127.0.0.1:9', forcePathStyle: true })
  t.same(awsClientConfig('S3', {}, { AWS_ENDPOINT_URL: 'http://h:1' }), { forcePathStyle: true })
  t.same(awsClientConfig('S3', {}, { AWS_ENDPOINT_URL_S3: 'http://h:1' }), { forcePathStyle: true })
  t.same(awsClientConfig('S3', { forcePathStyle: false }, { AWS_ENDPOINT_URL: 'http://h:1' }), { forcePathStyle: false })
  t.same(awsClientConfig('KMS', {}, { AWS_ENDPOINT_URL_S3: 'http://h:1' }), {}, 'the S3 variable does not affect KMS')
})

t.test('the endpoint in force: option, then service variable, then global variable', async (t) => {
  t.equal(endpointOverride('KMS', { endpoint: 'http://a:1' }, { AWS_ENDPOINT_URL_KMS: 'http://b:1', AWS_ENDPOINT_URL: 'http://c:1' }), 'http://a:1')
  t.equal(endpointOverride('KMS', {}, { AWS_ENDPOINT_URL_KMS: 'http://b:1', AWS_ENDPOINT_URL: 'http://c:1' }), 'http://b:1')
  t.equal(endpointOverride('KMS', {}, { AWS_ENDPOINT_URL: 'http://c:1' }), 'http://c:1')
  t.equal(endpointOverride('KMS', {}, {}), undefined)
})

t.test('the aws block is strict and checks its endpoint', async (t) => {
  t.notOk(awsOptionsSchema.safeParse({ regoin: 'x' }).success, 'a misspelt key is refused')
  t.notOk(awsOptionsSchema.safeParse({ endpoint: 'not a url' }).success)
  t.ok(awsOptionsSchema.safeParse({ region: 'us-east-1', endpoint: 'http://127.0.0.1:5000', forcePathStyle: true }).success)
})

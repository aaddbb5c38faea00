export default async function schema(): Promise<number> {
  await import('../builtins.js')
  const { pipelineJsonSchema } = await import('../core/runtime/pipeline-schema.js')
  process.stdout.write(JSON.stringify(pipelineJsonSchema(), null, 2) + '\n')
  return 0
}

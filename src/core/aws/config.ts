// AWS client settings shared by every AWS component (S3, KMS, CloudWatch, Bedrock). The SDK's own conventions win:
// the default credential chain, AWS_REGION, the SDK's retry strategy, and endpoint overrides through
// AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_<SERVICE>, which the SDK reads itself. A pipeline may also set
// `aws: { region, endpoint, forcePathStyle }`. This module only depends on zod and the errors, so every
// layer may use it.
import { z } from 'zod'

/** The `aws:` block of a pipeline component (strict: a misspelt key is an error). */
export const awsOptionsSchema = z.strictObject({
  region: z.string().min(1).optional(),
  endpoint: z.url().optional(),
  forcePathStyle: z.boolean().optional(),
})

export type AwsOptions = z.infer<typeof awsOptionsSchema>

/** The service ids the SDK uses in its AWS_ENDPOINT_URL_<ID> variables. */
export type AwsService = 'S3' | 'KMS' | 'CLOUDWATCH_LOGS' | 'CLOUDWATCH' | 'BEDROCK_RUNTIME'

/** The endpoint override in force for a service: the option, then the SDK's service and global variables. */
export function endpointOverride(service: AwsService, opts: AwsOptions = {}, env: NodeJS.ProcessEnv = process.env): string | undefined {
  return opts.endpoint ?? env[`AWS_ENDPOINT_URL_${service}`] ?? env.AWS_ENDPOINT_URL ?? undefined
}

export interface AwsClientConfig {
  region?: string
  endpoint?: string
  forcePathStyle?: boolean
}

/**
 * The constructor options for an SDK client. Only what the user set is passed, so the SDK's own resolution
 * (region chain, endpoint variables, credentials) applies to the rest. S3 behind an endpoint override uses
 * path-style addressing unless `forcePathStyle: false` says otherwise: S3-compatible servers expect it.
 */
export function awsClientConfig(service: AwsService, opts: AwsOptions = {}, env: NodeJS.ProcessEnv = process.env): AwsClientConfig {
  const out: AwsClientConfig = {}
  if (opts.region !== undefined) out.region = opts.region
  if (opts.endpoint !== undefined) out.endpoint = opts.endpoint
  if (service === 'S3') {
    if (opts.forcePathStyle !== undefined) out.forcePathStyle = opts.forcePathStyle
    else if (endpointOverride(service, opts, env) !== undefined) out.forcePathStyle = true
  }
  return out
}

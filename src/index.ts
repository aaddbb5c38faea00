// Public API of maif: `import { definePipeline, runPipeline, defineSource, … } from 'maif'`.
import './builtins.js'

export { MaifError, ErrorCodes, isMaifError, type ErrorCode } from './core/errors.js'

// The container format, keys and signatures.
export {
  BLOCK_TYPES, CODECS, FLAG_CONTINUES, HEADER_LEN, TAIL_LEN, isWritableDataType,
  type BoxHeader, type Codec, type DataType, type IndexEntry, type SessionInfo,
} from './core/format/format.js'
export { CompactTree, leafHash, nodeHash, rootOf, inclusionProof, verifyInclusion, consistencyProof, verifyConsistency, EMPTY_ROOT } from './core/format/merkle.js'
export { LocalKeyring, generateKeyring, loadKeyring, loadPublicKey, resolveKeyringDir, type KeyProvider, type DataKey } from './core/format/keyring.js'
export { LocalSigner, generateSigningKey, keyIdOf, verifySignature, SIGNATURE_ALGS, type Signer, type SignatureAlg } from './core/format/signing.js'
export { WorkerPool } from './core/workers/worker-pool.js'

// The container API.
export { WriterSession, withAppendPolicy, type SessionOptions, type AppendPolicy } from './core/container/session.js'
export { ContainerLock, type LockHolder } from './core/container/lock.js'
export { DEFAULT_MAX_BOX } from './core/format/codec.js'
export { openContainerWriter, writeContainer, type ContainerWriter, type ContainerWriterOptions } from './core/container/writer.js'
export { buildWritePath, completeWritePath, type WriteStage } from './core/container/write-path.js'
export { verifyContainer, ContainerVerifier, DEFAULT_WINDOW, type VerifyOptions, type VerifyResult, type VerifyIssue, type OpenedBlock, type Witness } from './core/container/verify.js'
export { ContainerReader, type ReaderOptions } from './core/container/reader.js'
export { recoverContainer, type RecoverOptions, type RecoverResult, type LaterCommit } from './core/container/recover.js'
export { inspectContainer, type InspectInfo, type InspectProblem } from './core/container/inspect.js'
export type { Block, CompressedBlock, SealedBlock, Box, Commit, PendingCheckpoint } from './core/container/blocks.js'
export { BlockFramer, type FramerOptions, type RecordInput, type BinaryRecord, type LineBatch } from './core/container/write/framer.js'
export { Compressor, type CompressorOptions } from './core/container/write/compressor.js'
export { Encryptor, type EncryptorOptions } from './core/container/write/encryptor.js'
export { HashChainer, DEFAULT_CHECKPOINT_BYTES, type HashChainerOptions, type CheckpointCadence } from './core/container/write/hash-chainer.js'
export { CheckpointSigner, type CheckpointSignerOptions } from './core/container/write/signer.js'
export { ContainerSink as ContainerAppender, type ContainerSinkOptions as ContainerAppenderOptions, type FsyncPolicy } from './core/container/write/appender.js'
export { Verifier, type VerifierOptions } from './core/container/read/verifier.js'
export { Decryptor, type DecryptorOptions, type OpenedBox } from './core/container/read/decryptor.js'
export { Decompressor } from './core/container/read/decompressor.js'
export { Deframer, type DeframerOptions, type BinaryPiece as DeframedPiece } from './core/container/read/deframer.js'
export { containerSource, type RawBox } from './core/container/read/source.js'

// Pipelines: definitions, the engine, and the component model.
export { definePipeline, loadPipelineFile, lintPipelineFile, checkPipeline, formatIssue, PipelineDefError, type LintIssue, type PipelineIssue, type LoadedPipeline } from './core/runtime/pipeline-def.js'
export { pipelineSchema, pipelineJsonSchema, type PipelineDefinition, type ComponentEntry } from './core/runtime/pipeline-schema.js'
export { runPipeline, checkEnvironment, type RunOptions, type RunReport } from './core/runtime/engine.js'
export {
  defineSource, defineTransform, defineSink, ComponentRegistry, builtins,
  type ComponentSpec, type SourceSpec, type TransformSpec, type SinkSpec, type LintContext, type LintEntry, type CheckContext,
} from './core/runtime/component.js'
export { mapRecords, mapBatches, type PipelineRecord, type RecordFn, type BatchFn, type LineRecords, type RetryPolicy } from './core/runtime/record-fns.js'
export { recordStage, componentsFromStages, type RecordStagePlugin } from './core/runtime/registry.js'
export { RunMetrics, createLogger } from './core/runtime/observability.js'
export type {
  Batch, LinesBatch, BinaryBatch, BinaryPiece, AckToken, AckProgress, CommitRef, DeadLetter, DeadLetterInput,
  BuildContext, SinkBuildContext, SinkAcks, SourceInstance, SourceStats, TransformInstance, SinkInstance, BlockStageEntry, RecordFormat,
} from './core/runtime/types.js'
export { z } from 'zod'
// AWS KMS: data keys (key-wrap kind 'aws-kms'), the reading key router, and the KMS checkpoint signer.
export { type KeyWrap } from './core/format/keyring.js'
export { KeyRouter } from './core/format/key-router.js'
export { KmsKeyProvider, KMS_KIND, type KmsKeyProviderOptions } from './core/format/kms/key-provider.js'
export { readKeyProvider } from './core/format/kms/read-keys.js'
export { KmsSigner, kmsPublicKey, type KmsSignerOptions } from './core/format/kms/signer.js'

// The semantic layer: embedders, the EMBD payload, the vector index and search.
export { embedderFor, embedderFromId, type Embedder, type EmbedderConfig } from './core/semantic/embedder.js'
export { HashingEmbedder, type HashingOptions } from './core/semantic/hashing.js'
export { encodeEmbeddings, decodeEmbeddings, recordHash, METRICS, type EmbeddingBlock, type IndexParams, type Metric } from './core/semantic/embd.js'
export { VectorIndex, exactNeighbours, type VectorIndexOptions, type VectorHits } from './core/semantic/vector-index.js'
export { SemanticIndex, searchContainer, searchContainers, type SearchFilter, type SearchHit, type SearchResult, type SemanticIndexOptions } from './core/semantic/search.js'
export { INDEX_BLOCK_TYPE, indexBlockStream, StoredIndexReader, type StoredIndexHeader, type IdMap } from './core/semantic/stored-index.js'
export { crossModalAttention, trustOf, identityWeights, xavierWeights, type Modality, type AcamOptions, type AcamResult } from './core/semantic/acam.js'
export { toHalf, fromHalf, writeVectors, readVectors, vectorBytes, DTYPES, type Dtype } from './core/semantic/codecs.js'
export { trainPq, encodePq, searchPq, pqBytes, type PqCodebook } from './core/semantic/pq.js'
export { checkEmbeddings } from './core/semantic/search.js'

// Kafka: the agent-side publisher and the connection options shared by the kafka source and sink.
export { AgentPublisher, type AgentPublisherOptions, type PublishOptions } from './core/kafka/publisher.js'
export { parseBrokers, type KafkaConnectionOptions } from './core/kafka/config.js'
export { OffsetDedupe } from './core/kafka/dedupe.js'
// S3 (issue 7): remote reads through a ByteSource, the s3 source and sink, s3:// URLs.
export { FileByteSource, type ByteSource, type ByteSourceStats } from './core/format/io.js'
export { openByteSource, withSource, type OpenSourceOptions } from './core/format/open-source.js'
export { isS3Url, parseS3Url, s3Url, type S3Location } from './core/aws/s3-url.js'
export { s3Source } from './sources/s3/index.js'
export { s3Sink } from './sinks/s3/index.js'

// Compliance: audit trail, FIPS and STIG checks, SIEM sinks.
export {
  AuditLogger, AuditChainVerifier, verifyAuditChain, eventHash, assertNoSecrets, CLASSIFICATIONS, ECS_VERSION,
  type AuditEvent, type AuditInput, type AuditLoggerOptions, type AuditChainReport, type AuditChainIssue, type Classification, type Outcome,
} from './core/audit/events.js'
export { ALGORITHMS, describeAlgorithms, cryptoModuleStatus, type AlgorithmUse, type AlgorithmId, type Approval, type CryptoModuleStatus } from './core/compliance/fips.js'
export { checkPassphrase, assertPassphrase, charactersChanged, STIG_PASSPHRASE_POLICY, type PassphrasePolicy, type PassphraseCheck } from './core/compliance/passphrase.js'
export { DeliverySink, backoffMs, type ServiceAdapter, type ItemOutcome, type DeliveryOptions, type DeliveryStats, type Pending } from './sinks/siem/delivery.js'
export { cloudwatchLogsSink, planLogEvents, CWL_LIMITS } from './sinks/siem/cloudwatch-logs.js'
export { elasticsearchSink, ECS_MAPPINGS } from './sinks/siem/elasticsearch.js'
export { splunkHecSink } from './sinks/siem/splunk-hec.js'
export { parseLabel, formatLabel, denial, parseGrant, type Label, type Grant } from './core/compliance/access.js'
export { mulberry32, clusteredVectors, type ClusteredOptions } from './core/semantic/synthetic.js'
export { AccessGuard, readBlockWithGrant, verifyContainerWithGrant, type GrantOptions } from './core/compliance/granted-read.js'
export { gatherEvidence, type ContainerEvidence, type AuditEvidence, type GatherOptions } from './core/compliance/evidence.js'
export { complianceReport, nistChecks, FRAMEWORKS, type ComplianceReport, type ControlResult, type ControlStatus, type Framework } from './core/compliance/report.js'
export { keyringPassphraseFromEnv, readPassphraseFile, type GenerateKeyringOptions } from './core/format/keyring.js'
export { sealSecret, openSecret, KEYRING_KDF, KEYRING_KDF_ITERATIONS, type SealedSecret } from './core/format/keyring-seal.js'
export { IdleLimitedReader, type IdleLimitOptions } from './core/compliance/idle-reader.js'
// HSC: the hierarchical int8 codec (coarse binary16 centroids + int8 residuals, anisotropic rounding).
export {
  trainResidualInt8, encodeResidualInt8, decodeResidualInt8, residualInt8Bytes, residualInt8Stride,
  writeResidualInt8Codebook, readResidualInt8Codebook, RESIDUAL_INT8_MAGIC,
  type ResidualInt8Codebook, type ResidualInt8TrainOptions, type ResidualInt8EncodeOptions,
} from './core/semantic/residual-int8.js'

// Embedders (issue 10): an ONNX sentence-embedding model from a local directory (transformers.js, loaded on first
// use) and AWS Bedrock (Titan / Cohere through InvokeModel).
export { type EmbedPurpose, type EmbedderFromIdOptions } from './core/semantic/embedder.js'
export { OnnxEmbedder, parseOnnxId, type OnnxEmbedderOptions, type OnnxId } from './core/semantic/onnx.js'
export { BedrockEmbedder, bedrockFamily, parseBedrockId, parseBedrockResponse, type BedrockEmbedderOptions, type BedrockFamily } from './core/semantic/bedrock.js'

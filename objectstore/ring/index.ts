/**
 * The ring part of the object store: Swift-compatible ring files, look-ups (Ring) and the
 * builder that makes them. Other parts import from here.
 */
export { Ring, DEFAULT_RELOAD_INTERVAL_MS, type PrimaryNode, type HandoffNode } from './ring.js';
export type { RingDevice } from './device.js';
export { hashPath, partitionOf, type HashConfig } from './hash.js';
export { readSwiftConf, parseSwiftHash } from './swift-conf.js';
export { readRingFile, writeRingFile, encodeRing, decodeRing, type RingData } from './ring-file.js';
export { RingBuilder, type RebalanceResult, type NewDevice } from './builder.js';
export { readBuilderFile, writeBuilderFile } from './builder-file.js';
export { RingError, RingFileError, BuilderError, HashConfigError } from './errors.js';

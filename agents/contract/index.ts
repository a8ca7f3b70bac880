/**
 * The contract between controller and agents: state documents, their keys in the state
 * bucket, conditions, and the canonical JSON they are written with. Both sides import this
 * module and nothing else of each other.
 */
export * from './keys.js';
export * from './canonical-json.js';
export * from './conditions.js';
export * from './desired.js';
export * from './observed.js';

/**
 * The Git sources of the controller: what other parts import. See README.md.
 */

export type { CommitCheck, ValidateCommit, OnAccepted } from './types.js';
export { ZERO_OID } from './types.js';
export { gitPlugin, DEFAULT_MAX_PUSH_BYTES, type GitPluginOptions } from './plugin.js';
export { repackIfNeeded, DEFAULT_REPACK_THRESHOLD } from './repack.js';
export { tokenListAuthorizer, type Authorize, type GitAccess } from './auth.js';
export { ObjectStoreRepoBackup, backupKey, type RepoBackup } from './backup.js';
export { MemoryObjects, type ObjectPutGet } from './object-put-get.js';
export { watchLocalRepo, type WatchLocalOptions, type RepoWatcher } from './watch-local.js';
export { pollRemote, type PollRemoteOptions, type RemotePoller } from './poll-remote.js';
export { gitWebhookPlugin, verifyWebhook, type WebhookPluginOptions, type WebhookTarget } from './webhook.js';
export { GitTreeSource, treeSource, type ManifestSource, type SourceEntry } from './tree-source.js';
export type { SourceCommit, OnCommit } from './branch-tracker.js';
export * from './errors.js';

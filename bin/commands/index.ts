/**
 * The list of subcommands, in the order `ringstack --help` shows them. Each command's module
 * is loaded only when it runs, so a storage node or an agent does not load the controller,
 * the S3 SDK or the Git library it never uses (start-up time and memory).
 */
import type { CommandEntry } from '../usage.js';

export const commands: CommandEntry[] = [
  { name: 'up', summary: 'run the whole stack on this machine (object store, controller, agent)', load: async () => (await import('./up.js')).upCommand },
  { name: 'image', summary: 'upload a disk image to the object store and print its Image manifest', load: async () => (await import('./image.js')).imageCommand },
  { name: 'ring', summary: 'build Swift-compatible rings and look up where paths live', load: async () => (await import('./ring.js')).ringCommand },
  { name: 'objectstore', summary: 'run a whole object store on this machine; dispersion and status checks of a cluster', load: async () => (await import('./objectstore.js')).objectstoreCommand },
  { name: 'storage-node', summary: 'run one storage node of an object store cluster', load: async () => (await import('./storage-node.js')).storageNodeCommand },
  { name: 'proxy', summary: 'run an object store proxy (S3 and Swift APIs) over storage nodes', load: async () => (await import('./proxy.js')).proxyCommand },
  { name: 'validate', summary: 'check a directory of manifests as a push would be checked', load: async () => (await import('./validate.js')).validateCommand },
  { name: 'plan', summary: 'show what applying a directory of manifests would change', load: async () => (await import('./plan.js')).planCommand },
  { name: 'controller', summary: 'run the GitOps controller (Git endpoint, scheduler, desired state)', load: async () => (await import('./controller.js')).controllerCommand },
  { name: 'agent', summary: 'run the host agent (converge libvirt to the desired state)', load: async () => (await import('./agent.js')).agentCommand },
  { name: 'user', summary: 'add, list, remove users of the object store or rotate their keys', load: async () => (await import('./user.js')).userCommand },
  { name: 'status', summary: 'show hosts, instances, revisions... from the controller\'s read-only status API', load: async () => (await import('./status.js')).statusCommand },
  { name: 'usage', summary: 'usage report of a project (instance-hours, vCPU-hours, GiB-hours) over a time range', load: async () => (await import('./usage.js')).usageCommand },
];

/**
 * Numbers of libvirt's RPC protocol that ringstack uses: program ids, message types and
 * statuses, procedure numbers and the enum values and flags of the procedures we call.
 *
 * Source of truth: libvirt's src/rpc/virnetprotocol.x, src/remote/remote_protocol.x,
 * src/rpc/virkeepaliveprotocol.x and the public headers (libvirt-domain.h, libvirt-network.h,
 * libvirt-storage.h). Procedure numbers never change once released, so a client written
 * against them works with every libvirtd that has the procedure.
 */

/** REMOTE_PROGRAM: the main libvirt program. */
export const REMOTE_PROGRAM = 0x20008086;
/** REMOTE_PROTOCOL_VERSION. */
export const REMOTE_PROTOCOL_VERSION = 1;
/** KEEPALIVE_PROGRAM ("keep"). */
export const KEEPALIVE_PROGRAM = 0x6b656570;
export const KEEPALIVE_VERSION = 1;
export const KeepaliveProcedure = { PING: 1, PONG: 2 } as const;

/** Bytes of the serialised virNetMessageHeader. */
export const HEADER_BYTES = 24;
/** Bytes of the length word before each message. */
export const LENGTH_BYTES = 4;
/** VIR_NET_MESSAGE_MAX: largest message (header + payload), not counting the length word. */
export const MESSAGE_MAX = 16777216;
/** Stream data per packet; libvirt's own clients send 256 KiB chunks. */
export const STREAM_CHUNK_BYTES = 262144;

/** virNetMessageType. */
export const MessageType = {
  CALL: 0,
  REPLY: 1,
  MESSAGE: 2,
  STREAM: 3,
  CALL_WITH_FDS: 4,
  REPLY_WITH_FDS: 5,
} as const;

/** virNetMessageStatus. */
export const MessageStatus = { OK: 0, ERROR: 1, CONTINUE: 2 } as const;

/** remote_auth_type. */
export const AuthType = { NONE: 0, SASL: 1, POLKIT: 2 } as const;

/** remote_procedure numbers (REMOTE_PROC_*). */
export const Procedure = {
  CONNECT_OPEN: 1,
  CONNECT_CLOSE: 2,
  CONNECT_GET_TYPE: 3,
  CONNECT_GET_VERSION: 4,
  CONNECT_GET_CAPABILITIES: 7,
  NODE_GET_INFO: 6,
  DOMAIN_CREATE: 9,
  DOMAIN_DESTROY: 12,
  DOMAIN_GET_XML_DESC: 14,
  DOMAIN_GET_AUTOSTART: 15,
  DOMAIN_GET_INFO: 16,
  DOMAIN_LOOKUP_BY_NAME: 23,
  DOMAIN_LOOKUP_BY_UUID: 24,
  DOMAIN_SET_AUTOSTART: 29,
  DOMAIN_SHUTDOWN: 33,
  DOMAIN_UNDEFINE: 35,
  NETWORK_CREATE: 39,
  NETWORK_DEFINE_XML: 41,
  NETWORK_DESTROY: 42,
  NETWORK_GET_XML_DESC: 43,
  NETWORK_GET_AUTOSTART: 44,
  NETWORK_LOOKUP_BY_NAME: 46,
  NETWORK_LOOKUP_BY_UUID: 47,
  NETWORK_SET_AUTOSTART: 48,
  NETWORK_UNDEFINE: 49,
  CONNECT_GET_HOSTNAME: 59,
  CONNECT_SUPPORTS_FEATURE: 60,
  AUTH_LIST: 66,
  AUTH_POLKIT: 70,
  STORAGE_POOL_DEFINE_XML: 77,
  STORAGE_POOL_CREATE: 78,
  STORAGE_POOL_BUILD: 79,
  STORAGE_POOL_DESTROY: 80,
  STORAGE_POOL_UNDEFINE: 82,
  STORAGE_POOL_REFRESH: 83,
  STORAGE_POOL_LOOKUP_BY_NAME: 84,
  STORAGE_POOL_LOOKUP_BY_UUID: 85,
  STORAGE_POOL_GET_INFO: 87,
  STORAGE_POOL_GET_XML_DESC: 88,
  STORAGE_POOL_GET_AUTOSTART: 89,
  STORAGE_POOL_SET_AUTOSTART: 90,
  STORAGE_VOL_CREATE_XML: 93,
  STORAGE_VOL_DELETE: 94,
  STORAGE_VOL_LOOKUP_BY_NAME: 95,
  STORAGE_VOL_LOOKUP_BY_PATH: 97,
  STORAGE_VOL_GET_INFO: 98,
  STORAGE_VOL_GET_XML_DESC: 99,
  STORAGE_VOL_GET_PATH: 100,
  NODE_GET_FREE_MEMORY: 102,
  CONNECT_GET_URI: 110,
  DOMAIN_IS_ACTIVE: 150,
  NETWORK_IS_ACTIVE: 152,
  STORAGE_POOL_IS_ACTIVE: 154,
  CONNECT_GET_LIB_VERSION: 157,
  DOMAIN_CREATE_WITH_FLAGS: 196,
  STORAGE_VOL_UPLOAD: 208,
  DOMAIN_GET_STATE: 212,
  DOMAIN_UNDEFINE_FLAGS: 231,
  DOMAIN_DESTROY_FLAGS: 234,
  DOMAIN_SHUTDOWN_FLAGS: 258,
  STORAGE_VOL_RESIZE: 260,
  CONNECT_LIST_ALL_DOMAINS: 273,
  CONNECT_LIST_ALL_STORAGE_POOLS: 281,
  STORAGE_POOL_LIST_ALL_VOLUMES: 282,
  CONNECT_LIST_ALL_NETWORKS: 283,
  NETWORK_UPDATE: 291,
  CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY: 316,
  CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY: 317,
  DOMAIN_EVENT_CALLBACK_LIFECYCLE: 318,
  NETWORK_GET_DHCP_LEASES: 341,
  DOMAIN_DEFINE_XML_FLAGS: 350,
} as const;

/** VIR_DRV_FEATURE_* values asked with CONNECT_SUPPORTS_FEATURE. */
export const DriverFeature = {
  /** The server reads NETWORK_UPDATE's command and section in the documented order. */
  NETWORK_UPDATE_HAS_CORRECT_ORDER: 16,
} as const;

/** virDomainState. */
export const DomainStateCode = {
  NOSTATE: 0,
  RUNNING: 1,
  BLOCKED: 2,
  PAUSED: 3,
  SHUTDOWN: 4,
  SHUTOFF: 5,
  CRASHED: 6,
  PMSUSPENDED: 7,
} as const;

/** virDomainEventID: which event a callback registers for. */
export const DomainEventId = { LIFECYCLE: 0 } as const;

/** virDomainEventType: the "event" field of a lifecycle event. */
export const DomainLifecycleEvent = {
  DEFINED: 0,
  UNDEFINED: 1,
  STARTED: 2,
  SUSPENDED: 3,
  RESUMED: 4,
  STOPPED: 5,
  SHUTDOWN: 6,
  PMSUSPENDED: 7,
  CRASHED: 8,
} as const;

/** virDomainUndefineFlagsValues. */
export const DomainUndefineFlags = {
  MANAGED_SAVE: 1 << 0,
  SNAPSHOTS_METADATA: 1 << 1,
  NVRAM: 1 << 2,
  KEEP_NVRAM: 1 << 3,
  CHECKPOINTS_METADATA: 1 << 4,
  TPM: 1 << 5,
} as const;

/** virDomainXMLFlags. */
export const DomainXmlFlags = { SECURE: 1 << 0, INACTIVE: 1 << 1 } as const;

/** virNetworkXMLFlags. */
export const NetworkXmlFlags = { INACTIVE: 1 << 0 } as const;

/** virNetworkUpdateCommand. */
export const NetworkUpdateCommand = { MODIFY: 1, DELETE: 2, ADD_LAST: 3, ADD_FIRST: 4 } as const;

/** virNetworkUpdateSection values used here. */
export const NetworkSection = { IP_DHCP_HOST: 4 } as const;

/** virNetworkUpdateFlags. */
export const NetworkUpdateFlags = { AFFECT_CURRENT: 0, AFFECT_LIVE: 1 << 0, AFFECT_CONFIG: 1 << 1 } as const;

/** virStoragePoolState. */
export const StoragePoolStateCode = {
  INACTIVE: 0,
  BUILDING: 1,
  RUNNING: 2,
  DEGRADED: 3,
  INACCESSIBLE: 4,
} as const;

/** virStoragePoolBuildFlags. */
export const StoragePoolBuildFlags = { NEW: 0, NO_OVERWRITE: 1 << 2 } as const;

/** virStorageVolResizeFlags. */
export const StorageVolResizeFlags = { ALLOCATE: 1 << 0, DELTA: 1 << 1, SHRINK: 1 << 2 } as const;

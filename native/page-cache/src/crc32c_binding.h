/* Adds crc32c, crc32cSoftware and crc32cHardware to the addon's exports. */
#ifndef RINGSTACK_CRC32C_BINDING_H
#define RINGSTACK_CRC32C_BINDING_H
#include <node_api.h>
void crc32c_register(napi_env env, napi_value exports);
#endif

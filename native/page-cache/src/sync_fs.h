#ifndef RINGSTACK_SYNC_FS_H
#define RINGSTACK_SYNC_FS_H
#include <node_api.h>
void sync_fs_register(napi_env env, napi_value exports);
#endif

#ifndef RINGSTACK_FSYNC_DIRS_H
#define RINGSTACK_FSYNC_DIRS_H
#include <node_api.h>
void fsync_dirs_register(napi_env env, napi_value exports);
#endif

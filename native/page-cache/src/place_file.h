#ifndef RINGSTACK_PLACE_FILE_H
#define RINGSTACK_PLACE_FILE_H
#include <node_api.h>
void place_file_register(napi_env env, napi_value exports);
#endif

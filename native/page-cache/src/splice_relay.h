/* Adds spliceRelay (socket to socket through a pipe, in the kernel) to the addon's exports. */
#ifndef RINGSTACK_SPLICE_RELAY_H
#define RINGSTACK_SPLICE_RELAY_H
#include <node_api.h>
void splice_relay_register(napi_env env, napi_value exports);
#endif

/* Adds setReceiveBuffer (SO_RCVBUF) to the addon's exports. */
#ifndef RINGSTACK_SOCKET_BUFFER_H
#define RINGSTACK_SOCKET_BUFFER_H
#include <node_api.h>
void socket_buffer_register(napi_env env, napi_value exports);
#endif

/* Adds receiveToFile (a socket's bytes into a file, with their CRC-32C, outside JavaScript). */
#ifndef RINGSTACK_RECEIVE_FILE_H
#define RINGSTACK_RECEIVE_FILE_H
#include <node_api.h>
void receive_file_register(napi_env env, napi_value exports);
#endif

#ifndef HERALD_LWS_SHIM_H
#define HERALD_LWS_SHIM_H
#include <libwebsockets.h>

/* Macros Swift cannot import, as constants. */
static const int herald_lws_pre = LWS_PRE;
static const unsigned int herald_lws_write_text = LWS_WRITE_TEXT;
static const unsigned int herald_lws_write_http_final = LWS_WRITE_HTTP_FINAL;
static const unsigned long long herald_option_validate_utf8 = LWS_SERVER_OPTION_VALIDATE_UTF8;
static const unsigned long long herald_option_explicit_vhosts = LWS_SERVER_OPTION_EXPLICIT_VHOSTS;
#endif

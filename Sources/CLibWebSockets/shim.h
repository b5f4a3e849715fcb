#ifndef HERALD_LWS_SHIM_H
#define HERALD_LWS_SHIM_H
#include <libwebsockets.h>

/* Macros Swift cannot import, as constants. */
static const int herald_lws_pre = LWS_PRE;
static const unsigned long long herald_option_validate_utf8 = LWS_SERVER_OPTION_VALIDATE_UTF8;
#endif

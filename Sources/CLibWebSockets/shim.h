#ifndef HERALD_LWS_SHIM_H
#define HERALD_LWS_SHIM_H
#include <libwebsockets.h>
/* Each event loop is a libev loop that Herald creates and runs and lws joins as a foreign loop. */
#include <ev.h>

/* Macros Swift cannot import, as constants. */
static const int herald_lws_pre = LWS_PRE;
static const unsigned long long herald_option_validate_utf8 = LWS_SERVER_OPTION_VALIDATE_UTF8;
static const unsigned long long herald_option_libev = LWS_SERVER_OPTION_LIBEV;
static const unsigned long long herald_option_ssl_global_init = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
static const unsigned int herald_ev_backend_epoll = EVBACKEND_EPOLL;
#endif

/* The acceptor's wait for first requests: Swift's Glibc module leaves these headers out. */
#include <sys/epoll.h>
#include <sys/eventfd.h>

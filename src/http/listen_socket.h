/* The loop threads' listening sockets. */
#ifndef AGENTOS_HTTP_LISTEN_SOCKET_H
#define AGENTOS_HTTP_LISTEN_SOCKET_H

#define HTTP_LISTEN_BACKLOG_DEFAULT 4096

/* LISTEN_BACKLOG as configured, or the default when it is not set (<= 0). */
int http_listen_backlog(int configured);

/* A non-blocking, close-on-exec socket bound to host:port with SO_REUSEADDR
 * and SO_REUSEPORT, listening with backlog; -1 after logging why. */
int http_listen_socket(const char *host, int port, int backlog);

#endif

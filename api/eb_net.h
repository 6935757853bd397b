/*
 * Socket address helpers shared by the daemon's listeners (the control API,
 * the SRT and RTMP ingest ports): one parser for the "HOST:PORT" settings
 * and flags, so every listen address of encbox reads the same way, and one
 * way to print a peer in the logs.
 */
#ifndef EB_NET_H
#define EB_NET_H

#include <stddef.h>
#include <sys/socket.h>

/* Parses a listen address "HOST:PORT" into *ss (and its length into *len,
 * which may be NULL). HOST: an IPv4 literal ("0.0.0.0", "127.0.0.1"),
 * "localhost" (127.0.0.1), or an IPv6 literal in brackets ("[::]",
 * "[::1]"). PORT: decimal 0..65535 (strtol's form: leading blanks and a
 * sign are taken); 0 means any free port, which a caller that needs a fixed
 * one refuses itself. No name resolution. Pure: no I/O, no state.
 * Returns 0, or EB_ERR(EINVAL) for anything else (s NULL, no colon, empty
 * host, host of 128 characters or more, bad port). */
int eb_net_parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *len);

/* The port of an AF_INET or AF_INET6 address, -1 for another family. */
int eb_net_port(const struct sockaddr_storage *ss);

/* "a.b.c.d:port" or "[v6]:port" (or "?") into out, for log lines. */
void eb_net_addr_str(const struct sockaddr *sa, char *out, size_t size);

#endif

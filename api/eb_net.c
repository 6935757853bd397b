/*
 * Socket address helpers (eb_net.h): the one "HOST:PORT" parser of the
 * daemon's listeners, and peer addresses for log lines.
 */
#include "eb_net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eb_error.h"

int eb_net_parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
    char host[128];
    const char *colon;
    socklen_t dummy;
    long port;
    char *end;
    size_t n;

    if (!len)
        len = &dummy;
    if (!s || !ss || !(colon = strrchr(s, ':')))
        return EB_ERR(EINVAL);
    errno = 0;
    port = strtol(colon + 1, &end, 10);
    if (colon[1] == 0 || *end || errno || port < 0 || port > 65535)
        return EB_ERR(EINVAL);
    n = (size_t)(colon - s);
    if (n == 0 || n >= sizeof(host))
        return EB_ERR(EINVAL);
    memcpy(host, s, n);
    host[n] = 0;
    memset(ss, 0, sizeof(*ss));
    if (host[0] == '[' && n > 2 && host[n - 1] == ']') {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
        host[n - 1] = 0;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)port);
        *len = sizeof(*a);
        return inet_pton(AF_INET6, host + 1, &a->sin6_addr) == 1 ? 0 : EB_ERR(EINVAL);
    }
    struct sockaddr_in *a = (struct sockaddr_in *)ss;
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)port);
    *len = sizeof(*a);
    if (!strcmp(host, "localhost"))
        snprintf(host, sizeof(host), "127.0.0.1");
    return inet_pton(AF_INET, host, &a->sin_addr) == 1 ? 0 : EB_ERR(EINVAL);
}

int eb_net_port(const struct sockaddr_storage *ss)
{
    if (ss && ss->ss_family == AF_INET)
        return ntohs(((const struct sockaddr_in *)ss)->sin_port);
    if (ss && ss->ss_family == AF_INET6)
        return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
    return -1;
}

void eb_net_addr_str(const struct sockaddr *sa, char *out, size_t size)
{
    char host[INET6_ADDRSTRLEN] = "?";

    if (!out || !size)
        return;
    if (sa && sa->sa_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
        snprintf(out, size, "%s:%d", host, ntohs(a->sin_port));
    } else if (sa && sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
        snprintf(out, size, "[%s]:%d", host, ntohs(a->sin6_port));
    } else {
        snprintf(out, size, "?");
    }
}

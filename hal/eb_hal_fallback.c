/*
 * Backend choice: --backend auto|NAME and --fallback auto|none|NAME (see
 * eb_hal.h for the rules). The decision is a pure function of the request
 * and the probe results, so every branch is unit-tested without hardware;
 * eb_hal_select() only adds the probing. Its note is what a job reports, so
 * an operator sees why a job ran on the CPU.
 */
#include <stdio.h>
#include <string.h>

#include "eb_error.h"
#include "eb_hal.h"

static int find_name(const char *const *names, int nb, const char *name)
{
    for (int i = 0; i < nb; i++)
        if (strcmp(names[i], name) == 0)
            return i;
    return -1;
}

/* Appends "name unusable (reason)" for every unusable backend in [0, upto)
 * except skip, separated by "; ". */
static void note_unusable(char *note, size_t size, const char *const *names,
                          const EbHalProbe *probes, int upto, int only)
{
    size_t len = strlen(note);
    for (int i = 0; i < upto && len < size; i++) {
        if (probes[i].usable || (only >= 0 && i != only))
            continue;
        snprintf(note + len, size - len, "%s%s unusable (%s)", len ? "; " : "", names[i],
                 probes[i].reason[0] ? probes[i].reason : "no reason given");
        len = strlen(note);
    }
}

int eb_hal_choose(const char *requested, const char *fallback, const char *const *names,
                  const EbHalProbe *probes, int nb, EbHalChoice *out)
{
    int req, fb = -1;
    size_t len;

    memset(out, 0, sizeof(*out));
    out->index = -1;
    if (!fallback)
        fallback = "auto";
    if (!requested || !*requested)
        requested = "auto";

    if (strcmp(requested, "auto") == 0) {
        for (int i = 0; i < nb; i++) {
            if (probes[i].usable) {
                out->index = i;
                out->name = names[i];
                note_unusable(out->note, sizeof(out->note), names, probes, i, -1);
                len = strlen(out->note);
                snprintf(out->note + len, sizeof(out->note) - len, "%sauto: chose %s",
                         len ? ": " : "", names[i]);
                return 0;
            }
        }
        note_unusable(out->note, sizeof(out->note), names, probes, nb, -1);
        len = strlen(out->note);
        snprintf(out->note + len, sizeof(out->note) - len, "%sno usable backend", len ? ": " : "");
        return EB_ERR(ENODEV);
    }

    req = find_name(names, nb, requested);
    if (req < 0) {
        snprintf(out->note, sizeof(out->note), "backend '%s' is not in this build", requested);
        return EB_ERR(EINVAL);
    }
    if (strcmp(fallback, "auto") && strcmp(fallback, "none")) {
        fb = find_name(names, nb, fallback);
        if (fb < 0) {
            snprintf(out->note, sizeof(out->note), "fallback backend '%s' is not in this build",
                     fallback);
            return EB_ERR(EINVAL);
        }
    }
    if (probes[req].usable) {
        out->index = req;
        out->name = names[req];
        snprintf(out->note, sizeof(out->note), "%s as requested", names[req]);
        return 0;
    }
    note_unusable(out->note, sizeof(out->note), names, probes, nb, req);
    len = strlen(out->note);
    if (strcmp(fallback, "none") == 0) {
        snprintf(out->note + len, sizeof(out->note) - len, ": fallback none, job fails");
        return EB_ERR(ENODEV);
    }
    if (fb < 0) {
        for (int i = 0; i < nb; i++) {
            if (i != req && probes[i].usable) {
                fb = i;
                break;
            }
        }
        if (fb < 0) {
            snprintf(out->note + len, sizeof(out->note) - len,
                     ": no other backend is usable either");
            return EB_ERR(ENODEV);
        }
    } else if (!probes[fb].usable) {
        snprintf(out->note + len, sizeof(out->note) - len, "; fallback %s unusable (%s)", names[fb],
                 probes[fb].reason[0] ? probes[fb].reason : "no reason given");
        return EB_ERR(ENODEV);
    }
    out->index = fb;
    out->name = names[fb];
    out->fell_back = 1;
    len = strlen(out->note);
    snprintf(out->note + len, sizeof(out->note) - len, ": fell back to %s", names[fb]);
    return 0;
}

int eb_hal_probe_all(const EbHalBackend *const *reg, const char **names, EbHalProbe *probes)
{
    int nb = 0;

    if (!reg)
        reg = eb_hal_backends();
    for (; reg[nb] && nb < EB_HAL_MAX_DEVICES; nb++) {
        names[nb] = reg[nb]->name;
        memset(&probes[nb], 0, sizeof(probes[nb]));
        if (!reg[nb]->probe || reg[nb]->probe(&probes[nb]) < 0) {
            if (!probes[nb].reason[0])
                snprintf(probes[nb].reason, sizeof(probes[nb].reason), "probe failed");
            probes[nb].usable = 0;
        }
    }
    return nb;
}

int eb_hal_select(const char *requested, const char *fallback, const EbHalBackend **backend,
                  EbHalChoice *out)
{
    const EbHalBackend *const *reg = eb_hal_backends();
    const char *names[EB_HAL_MAX_DEVICES];
    EbHalProbe probes[EB_HAL_MAX_DEVICES];
    int nb = eb_hal_probe_all(reg, names, probes), ret;

    ret = eb_hal_choose(requested, fallback, names, probes, nb, out);
    *backend = ret < 0 ? NULL : reg[out->index];
    return ret;
}

/*
 * Device inventory across the registry and `encbox devices [--json]`.
 * The inventory is what the HAL's devices() callbacks report; a backend
 * without one (software) gets one entry from probe() and the name its
 * device_open() gives. The JSON form is for scripts and the API: one object
 * per device, and one for a backend that found none, always with backend,
 * device, usable and reason.
 */
#include <stdio.h>
#include <string.h>

#include "eb_error.h"
#include "eb_json.h"
#include "eb_hal.h"

int eb_hal_inventory(const EbHalBackend *b, EbHalDeviceInfo *out, int max, int *nb)
{
    EbHalProbe p;
    EbHalDevice *dev = NULL;
    int ret;

    *nb = 0;
    if (max < 1)
        return EB_ERR(EINVAL);
    if (b->devices) {
        ret = b->devices(out, max, nb);
        if (ret >= 0 && *nb >= 1)
            return 0;
    }
    memset(&out[0], 0, sizeof(out[0]));
    snprintf(out[0].backend, sizeof(out[0].backend), "%s", b->name);
    memset(&p, 0, sizeof(p));
    if (!b->probe || b->probe(&p) < 0)
        p.usable = 0;
    out[0].usable = p.usable;
    if (p.usable && eb_hal_device_open(b, NULL, &dev) >= 0) {
        snprintf(out[0].device, sizeof(out[0].device), "%s", dev->name);
        eb_hal_device_close(&dev);
    } else if (p.usable) {
        out[0].usable = 0;
        snprintf(out[0].reason, sizeof(out[0].reason), "device open failed");
    } else {
        snprintf(out[0].reason, sizeof(out[0].reason), "%s", p.reason[0] ? p.reason : "unusable");
    }
    snprintf(out[0].name, sizeof(out[0].name), "%s", b->description ? b->description : "");
    *nb = 1;
    return 0;
}

static void print_json(FILE *f, const EbHalDeviceInfo *d, int first)
{
    fputs(first ? "\n  {" : ",\n  {", f);
    fputs("\"backend\": ", f);
    eb_json_write_string(f, d->backend);
    fputs(", \"device\": ", f);
    eb_json_write_string(f, d->device);
    fprintf(f, ", \"usable\": %s, \"reason\": ", d->usable ? "true" : "false");
    eb_json_write_string(f, d->usable ? "" : d->reason);
    fputs(", \"name\": ", f);
    eb_json_write_string(f, d->name);
    fputs(", \"pci_bus_id\": ", f);
    eb_json_write_string(f, d->pci_bus_id);
    fprintf(f, ", \"memory\": %lld, \"driver_version\": ", (long long)d->memory);
    eb_json_write_string(f, d->driver_version);
    fprintf(f, ", \"video_processing\": %s, \"codecs\": [", d->vpp ? "true" : "false");
    for (int i = 0; i < d->nb_codecs; i++) {
        const EbHalCodecCaps *c = &d->codecs[i];
        fprintf(f, "%s{\"codec\": ", i ? ", " : "");
        eb_json_write_string(f, avcodec_get_name(c->codec));
        fprintf(f,
                ", \"decode\": %s, \"encode\": %s, \"max_width\": %d, \"max_height\": %d, "
                "\"max_bframes\": %d}",
                c->decode ? "true" : "false", c->encode ? "true" : "false", c->max_width,
                c->max_height, c->max_bframes);
    }
    fputs("]}", f);
}

static void print_row(FILE *f, const EbHalDeviceInfo *d)
{
    char codecs[160] = "", mem[32] = "-";
    size_t len = 0;

    for (int i = 0; i < d->nb_codecs && len < sizeof(codecs); i++) {
        const EbHalCodecCaps *c = &d->codecs[i];
        snprintf(codecs + len, sizeof(codecs) - len, "%s%s:%s%s", i ? " " : "",
                 avcodec_get_name(c->codec), c->decode ? "d" : "", c->encode ? "e" : "");
        len = strlen(codecs);
    }
    if (d->memory > 0)
        snprintf(mem, sizeof(mem), "%lld MiB", (long long)(d->memory >> 20));
    fprintf(f, "%-9s %-20s %-6s %s\n", d->backend, d->device[0] ? d->device : "-",
            d->usable ? "yes" : "no", d->usable ? d->name : d->reason);
    if (d->name[0] && !d->usable)
        fprintf(f, "%-9s %-20s %-6s   name: %s\n", "", "", "", d->name);
    if (d->pci_bus_id[0] || d->driver_version[0] || d->memory > 0)
        fprintf(f, "%-9s %-20s %-6s   pci %s, memory %s, driver %s\n", "", "", "",
                d->pci_bus_id[0] ? d->pci_bus_id : "-", mem,
                d->driver_version[0] ? d->driver_version : "-");
    if (d->nb_codecs)
        fprintf(f, "%-9s %-20s %-6s   codecs (d decode, e encode): %s%s\n", "", "", "", codecs,
                d->vpp ? "; video processing" : "");
}

int eb_hal_cli_devices(int argc, char **argv)
{
    const EbHalBackend *const *b = eb_hal_backends();
    static EbHalDeviceInfo info[EB_HAL_MAX_DEVICES];
    int json = 0, first = 1;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            json = 1;
        } else {
            fprintf(stderr,
                    "encbox: devices: unknown option '%s' (usage: encbox devices [--json])\n",
                    argv[i]);
            return 2;
        }
    }
    if (json)
        fputc('[', stdout);
    else
        printf("%-9s %-20s %-6s %s\n", "BACKEND", "DEVICE", "USABLE", "NAME / REASON");
    for (int i = 0; b[i]; i++) {
        int nb = 0;
        eb_hal_inventory(b[i], info, EB_HAL_MAX_DEVICES, &nb);
        for (int k = 0; k < nb; k++) {
            if (json)
                print_json(stdout, &info[k], first);
            else
                print_row(stdout, &info[k]);
            first = 0;
        }
    }
    if (json)
        fputs("\n]\n", stdout);
    return 0;
}

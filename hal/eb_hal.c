/* HAL registry and device lifetime. Hardware backends join the list behind
 * their build flags (issue: hardware backends). */
#include "eb_hal.h"

#include <stdlib.h>
#include <string.h>

#include "eb_error.h"

static const EbHalBackend *const eb_hal_registry[] = {
#ifdef EB_WITH_NVIDIA
    &eb_hal_nvidia,
#endif
#ifdef EB_WITH_VAAPI
    &eb_hal_vaapi,
#endif
#ifdef EB_WITH_QSV
    &eb_hal_qsv,
#endif
    &eb_hal_software,
    NULL,
};

const EbHalBackend *const *eb_hal_backends(void) { return eb_hal_registry; }

const EbHalBackend *eb_hal_find(const char *name)
{
    for (int i = 0; eb_hal_registry[i]; i++)
        if (strcmp(eb_hal_registry[i]->name, name) == 0)
            return eb_hal_registry[i];
    return NULL;
}

int eb_hal_backends_enabled(const char *const *names, int nb, const EbHalBackend **out)
{
    int n = 0;

    if (!names || nb <= 0) {
        for (; eb_hal_registry[n] && n < EB_HAL_MAX_DEVICES; n++)
            out[n] = eb_hal_registry[n];
    } else {
        for (int i = 0; i < nb && n < EB_HAL_MAX_DEVICES; i++) {
            const EbHalBackend *b = names[i] ? eb_hal_find(names[i]) : NULL;
            int dup = 0;
            for (int j = 0; j < n; j++)
                dup |= out[j] == b;
            if (b && !dup)
                out[n++] = b;
        }
    }
    out[n] = NULL;
    return n;
}

int eb_hal_device_open(const EbHalBackend *b, const char *spec, EbHalDevice **out)
{
    EbHalDevice *dev;
    int ret;

    *out = NULL;
    dev = calloc(1, sizeof(*dev));
    if (!dev)
        return EB_ERR(ENOMEM);
    dev->backend = b;
    if (b->priv_size) {
        dev->priv = calloc(1, b->priv_size);
        if (!dev->priv) {
            free(dev);
            return EB_ERR(ENOMEM);
        }
    }
    if (!b->device_open) {
        ret = EB_ERR(ENOSYS);
        goto error;
    }
    ret = b->device_open(dev, spec);
    if (ret < 0)
        goto error;
    *out = dev;
    return 0;
error:
    free(dev->priv);
    free(dev);
    return ret;
}

void eb_hal_device_close(EbHalDevice **devp)
{
    EbHalDevice *dev = *devp;
    if (!dev)
        return;
    if (dev->backend->device_close)
        dev->backend->device_close(dev);
    av_buffer_unref(&dev->hw_device_ctx);
    free(dev->priv);
    free(dev);
    *devp = NULL;
}

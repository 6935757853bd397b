/*
 * What every input shares (see eb_input.h): closing through its ops.
 */
#include "eb_input.h"

#include <stdlib.h>

void eb_input_close(EbInput **inp)
{
    EbInput *in = *inp;

    if (!in)
        return;
    in->ops->close(in);
    free(in);
    *inp = NULL;
}

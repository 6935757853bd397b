/* encbox command line (placeholder until the transcode command lands). */
#include <stdio.h>
#include "eb_version.h"
int main(void)
{
    printf("encbox %s\n", EB_VERSION);
    return 0;
}

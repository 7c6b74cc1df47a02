/* Model sources before the model engine links: refused with a clear error
 * (issue 2). Replaced by source_model.c in src/engine/meson.build. */
#include "engine/run.h"

int runCheckpoint(ModelRun *r, Error *err)
{
    return errorSet(err, EXIT_INPUT, "%s: model sources are not supported by this build yet; use activation files",
                    r->entry->path);
}

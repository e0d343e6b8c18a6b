// Umbrella header over nifticlib (NIfTI-1 I/O), zlib and libdeflate.
// nifti1_io.h includes <znzlib.h> as if /usr/include/nifti were on the include path; the forwarding
// znzlib.h beside this file satisfies that (delete it if nifticlib ever includes <nifti/znzlib.h>).
#include <nifti/nifti1_io.h>
#include <zlib.h>
#include <libdeflate.h>

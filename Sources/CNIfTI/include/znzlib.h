// Forwarding header: see CNIfTI.h.
#include <nifti/znzlib.h>

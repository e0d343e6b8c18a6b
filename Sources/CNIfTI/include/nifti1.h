// Forwarding header: see CNIfTI.h.
#include <nifti/nifti1.h>

// SwiftPM needs one source file per C target; the module is headers plus linked libraries.
#include "CNIfTI.h"

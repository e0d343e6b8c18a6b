// CDCMTKImpl (libi2dcmtk.so) has no API of its own here: it exports the i2dcmx_ functions
// CDCMTK's DCMTKLibrary.h lists, which the executable resolves when it loads the library.
#pragma once

// CDCMTKLoader has no API of its own: it implements the functions CDCMTK's headers declare (the
// executable's side of them; Library.hpp says how DCMTK is reached).
#pragma once

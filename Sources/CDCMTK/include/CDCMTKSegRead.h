// C ABI for reading DICOM Segmentation objects (see SegRead.cpp). Placeholder until written.
#ifndef CDCMTK_SEGREAD_H
#define CDCMTK_SEGREAD_H
#endif

// C ABI for writing DICOM Segmentation objects (see SegWrite.cpp). Placeholder until written.
#ifndef CDCMTK_SEGWRITE_H
#define CDCMTK_SEGWRITE_H
#endif

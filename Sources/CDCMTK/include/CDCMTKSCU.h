// C ABI over DCMTK's dcmnet for the storage SCU behind `i2 send` (see StoreSCU.cpp).
#ifndef CDCMTK_SCU_H
#define CDCMTK_SCU_H
#include <stddef.h>
#include <stdint.h>
#ifdef __cplusplus
extern "C" {
#endif
#ifdef __cplusplus
}
#endif
#endif

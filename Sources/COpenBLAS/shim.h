// OpenBLAS (Debian: libopenblas-dev). The CBLAS interface plus OpenBLAS's thread control,
// which is process-global and therefore set in exactly one place in VeilTensor.
#include <cblas.h>

// OpenBLAS (Debian: libopenblas-dev). The CBLAS interface plus OpenBLAS's thread control,
// which is process-global and therefore set in exactly one place in VeilTensor.
#include <cblas.h>

// LAPACK's Cholesky solve, which OpenBLAS carries (its Fortran interface; OpenBLAS's
// default 32-bit integers): the Newton steps of fitting a site-trained head.
void dposv_(const char *uplo, const int *n, const int *nrhs, double *a, const int *lda,
            double *b, const int *ldb, int *info);

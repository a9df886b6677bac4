// CharLS's C API (Debian: libcharls-dev), for JPEG-LS pixel data. Every call returns an
// error code; none throws across the C boundary.
#include <charls/charls.h>

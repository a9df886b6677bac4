// OpenSSL's libcrypto (Debian: libssl-dev), for SHA-256 only: its EVP digests pick the
// processor's SHA extensions or AVX2 code at run time, several times faster than portable code.
#include <openssl/evp.h>

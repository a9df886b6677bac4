// libjpeg-turbo's TurboJPEG API (Debian: libturbojpeg0-dev). Every call returns a status,
// so no longjmp ever crosses Swift frames.
#include <turbojpeg.h>

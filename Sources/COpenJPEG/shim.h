// OpenJPEG's decoder (Debian: libopenjp2-7-dev), for JPEG 2000 pixel data. Errors come back
// as return values; its message callbacks are routed to a handler that prints nothing.
#include <openjpeg.h>

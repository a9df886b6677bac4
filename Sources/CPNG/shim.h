// libpng (Debian: libpng-dev). Veil uses only the simplified png_image_* API, which catches
// libpng's longjmp internally and reports failure through its return value and `message`.
#include <png.h>
